package natter.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The binding against a real natterd (the system property "natterd" names it), as an app uses it. */
class NatterClientTest {
  private static Process natterd;
  private static String server;
  private static Path dir;

  @BeforeAll
  static void startServer() throws Exception {
    dir = Files.createTempDirectory("natter-jvm-");
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    natterd = new ProcessBuilder(System.getProperty("natterd"), "--data-dir", dir.resolve("server").toString(),
        "--port", String.valueOf(port), "--password-profile", "minimal")
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    server = "http://127.0.0.1:" + port;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (true) {
      try (Socket probe = new Socket("127.0.0.1", port)) {
        break;
      } catch (IOException notYet) {
        if (System.nanoTime() > deadline) throw new AssertionError("natterd did not start");
        Thread.sleep(50);
      }
    }
  }

  @AfterAll
  static void stopServer() throws Exception {
    natterd.destroy();
    natterd.waitFor(10, TimeUnit.SECONDS);
  }

  private static NatterClient client(String name) throws NatterException {
    return NatterClient.create("{\"server\":\"" + server + "\",\"database_directory\":\""
        + dir.resolve(name) + "\",\"device\":\"junit\"}");
  }

  /** Waits for the first event matching {@code want}, receiving on this thread. */
  private static String await(NatterClient c, Predicate<String> want, String what) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (System.nanoTime() < deadline) {
      String event = c.receive(0.1);
      if (event != null && want.test(event)) return event;
    }
    throw new AssertionError("no " + what + " within 15 s");
  }

  private static long number(String json, String field) {
    Matcher m = Pattern.compile("\"" + field + "\":(\\d+)").matcher(json);
    assertTrue(m.find(), field + " in " + json);
    return Long.parseLong(m.group(1));
  }

  private static String call(NatterClient c, String request, int extra) {
    c.send(request.replace("}", ",\"@extra\":" + extra + "}"));
    return await(c, e -> e.contains("\"@extra\":" + extra), "answer to " + request);
  }

  @Test
  void twoClientsChatThroughTheBinding() throws Exception {
    try (NatterClient alice = client("alice"); NatterClient bob = client("bob")) {
      for (NatterClient[] pair : new NatterClient[][] {{alice}, {bob}}) {
        String who = pair[0] == alice ? "alice" : "bob";
        String registered = call(pair[0], "{\"@type\":\"register\",\"handle\":\"" + who
            + "\",\"password\":\"password-" + who + "\"}", 1);
        assertTrue(registered.contains("\"@type\":\"result\""), registered);
        call(pair[0], "{\"@type\":\"login\",\"handle\":\"" + who + "\",\"password\":\"password-" + who + "\"}", 2);
        await(pair[0], e -> e.contains("\"@type\":\"sync_done\""), who + "'s sync");
      }
      String bobUser = call(alice, "{\"@type\":\"get_user\",\"handle\":\"bob\"}", 3);
      String direct = call(alice, "{\"@type\":\"create_direct\",\"peer_id\":" + number(bobUser, "user_id") + "}", 4);
      long conversation = number(direct, "id");

      // Bob listens on the binding's own thread, as an Android app would.
      BlockingQueue<String> bobEvents = new LinkedBlockingQueue<>();
      bob.listen(bobEvents::add);
      String text = "héllo 👋 from the JVM";
      call(alice, "{\"@type\":\"send_message\",\"conversation_id\":" + conversation + ",\"text\":\"" + text + "\"}", 5);
      await(alice, e -> e.contains("\"state\":\"sent\""), "sent");
      String got = null;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
      while (got == null && System.nanoTime() < deadline) {
        String event = bobEvents.poll(100, TimeUnit.MILLISECONDS);
        if (event != null && event.contains("\"@type\":\"new_entry\"")) got = event;
      }
      assertNotNull(got, "bob's client did not get the message");
      assertTrue(got.contains(text), "the text crossed JNI intact: " + got);
      await(alice, e -> e.contains("\"state\":\"delivered\""), "delivered to bob");
    }
  }

  @Test
  void optionsThatCannotBeUsedSayWhy() {
    NatterException e = assertThrows(NatterException.class, () -> NatterClient.create("{\"server\":\"ftp://x\"}"));
    assertEquals("options need \"server\" and \"database_directory\" strings", e.getMessage());
    e = assertThrows(NatterException.class, () -> NatterClient.create(
        "{\"server\":\"ftp://x\",\"database_directory\":\"" + dir.resolve("ftp") + "\"}"));
    assertTrue(e.getMessage().startsWith("server must be http://host:port or https://host:port"), e.getMessage());
  }

  @Test
  void closeReturnsAtOnceAndAClosedClientRefusesSends() throws Exception {
    NatterClient c = client("closing");
    c.listen(event -> { });
    long started = System.nanoTime();
    c.close();
    assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(2), "close took too long");
    assertThrows(IllegalStateException.class, () -> c.send("{\"@type\":\"get_state\"}"));
    c.close();  // twice is fine
  }
}
