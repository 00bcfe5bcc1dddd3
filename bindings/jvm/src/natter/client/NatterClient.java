package natter.client;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;

/**
 * libnatter for the JVM and Android: one client per profile, JSON requests in and JSON events
 * out, exactly as the C API (docs/client.md lists every request and event). The client works on
 * a thread of its own inside libnatter; no method here blocks on the network.
 *
 * <pre>{@code
 * try (NatterClient client = NatterClient.create(
 *     "{\"server\":\"https://chat.example\",\"database_directory\":\"" + dir + "\"}")) {
 *   client.listen(event -> handler.post(() -> ui.show(event)));   // a thread of the client's
 *   client.send("{\"@type\":\"login\",\"handle\":\"alice\",\"password\":\"...\",\"@extra\":1}");
 * }
 * }</pre>
 *
 * <p>Thread-safety: every method may be called from any thread. {@link #close} waits for a
 * {@link #receive} under way (at most its timeout) and for the listener thread to stop.
 */
public final class NatterClient implements AutoCloseable {
  static {
    System.loadLibrary("natter_jni");
  }

  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private long handle;  // 0 once closed
  private Thread listener;
  private volatile boolean listening;

  private NatterClient(long handle) {
    this.handle = handle;
  }

  /**
   * Makes a client from its options: {@code server}, {@code database_directory}, and optionally
   * {@code device}, {@code ca_file}, {@code pins}, {@code timeout_seconds}, {@code keep_messages},
   * {@code keep_days}.
   *
   * @throws NatterException when the options cannot be used; the message says why
   */
  public static NatterClient create(String optionsJson) throws NatterException {
    long handle = nativeCreate(optionsJson.getBytes(StandardCharsets.UTF_8));
    if (handle == 0) throw new NatterException(new String(nativeLastError(), StandardCharsets.UTF_8));
    return new NatterClient(handle);
  }

  /** Queues a request; its answer comes back as an event with the same {@code @extra}. */
  public void send(String requestJson) {
    lock.readLock().lock();
    try {
      if (handle == 0) throw new IllegalStateException("the client is closed");
      nativeSend(handle, requestJson.getBytes(StandardCharsets.UTF_8));
    } finally {
      lock.readLock().unlock();
    }
  }

  /** The next event as JSON, waiting up to {@code timeoutSeconds}; null when none came. */
  public String receive(double timeoutSeconds) {
    lock.readLock().lock();
    try {
      if (handle == 0) return null;
      byte[] event = nativeReceive(handle, timeoutSeconds);
      return event == null ? null : new String(event, StandardCharsets.UTF_8);
    } finally {
      lock.readLock().unlock();
    }
  }

  /**
   * Hands every event to {@code onEvent} on a thread of the client's own (an Android app posts
   * them to its main looper from there). Events are no longer available to {@link #receive}.
   * {@code onEvent} must not wait for the thread that calls {@link #close}: close waits for it.
   * An exception it throws is reported to the thread's uncaught-exception handler and the
   * events go on.
   */
  public synchronized void listen(Consumer<String> onEvent) {
    if (listener != null) throw new IllegalStateException("already listening");
    if (isClosed()) throw new IllegalStateException("the client is closed");
    listening = true;
    listener = new Thread(() -> {
      while (listening && !isClosed()) {
        String event = receive(0.2);
        if (event == null) continue;
        try {
          onEvent.accept(event);
        } catch (RuntimeException e) {
          Thread self = Thread.currentThread();
          self.getUncaughtExceptionHandler().uncaughtException(self, e);
        }
      }
    }, "natter-events");
    listener.setDaemon(true);
    listener.start();
  }

  private boolean isClosed() {
    lock.readLock().lock();
    try {
      return handle == 0;
    } finally {
      lock.readLock().unlock();
    }
  }

  /** Stops the client; pending sends stay in the local store and go out after the next start. */
  @Override
  public void close() {
    Thread stopping;
    synchronized (this) {
      listening = false;
      stopping = listener;
      listener = null;
    }
    if (stopping != null && stopping != Thread.currentThread()) {
      try {
        stopping.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    lock.writeLock().lock();
    try {
      if (handle != 0) nativeDestroy(handle);
      handle = 0;
    } finally {
      lock.writeLock().unlock();
    }
  }

  // Strings cross as UTF-8 bytes: JNI's own string functions use a modified
  // UTF-8 that would mangle emoji and other characters beyond the BMP.
  private static native long nativeCreate(byte[] options);

  private static native byte[] nativeLastError();

  private static native void nativeSend(long handle, byte[] request);

  private static native byte[] nativeReceive(long handle, double timeoutSeconds);

  private static native void nativeDestroy(long handle);
}
