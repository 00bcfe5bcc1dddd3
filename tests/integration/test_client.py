"""libnatter and the natter CLI against a real natterd: two profiles chat; a
client offline sends, is killed, and its messages still arrive exactly once
when the server is back; a client reconnects by itself when the server
restarts; gaps fill on request; the C API through a whole session (ctypes);
the interactive CLI under tmux."""

import ctypes
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
import types

import natter_harness as h
from client_harness import CLI, EXAMPLE, HERE, LIB, CApiClient, MisbehavingServer, Profiles, Server, SwitchableProxy

class ClientTest(Profiles, h.unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="natter-client-")
        self.server = Server(os.path.join(self.dir, "server"), "--sync-page", "5").start()
        self.to_close = []

    def tearDown(self):
        for c in self.to_close:
            c.close()
        self.server.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def bob_history(self, conv):
        self.cli("bob", "sync")
        return [m for m in self.cli_json("bob", "history", conv, "--limit", "100")["messages"] if m["kind"] == "message"]

    def test_two_profiles_chat_with_the_cli(self):
        conv = self.two_profiles()
        sent = self.cli_json("alice", "send", str(conv), "hello bob")
        self.assertEqual((sent["state"], sent["seq"]), ("sent", 1))
        self.assertEqual([m["text"] for m in self.bob_history(str(conv))], ["hello bob"])
        self.cli("bob", "send", str(conv), "hi alice")
        listing = self.cli_json("alice", "conversations")["conversations"]
        self.assertEqual([(c["id"], c["unread"]) for c in listing], [(conv, 1)])
        # Past the newest entry: refused as the server refuses it, the local
        # state unchanged (before, the profile kept read_seq 99 and showed no
        # unread while the server said 1).
        past = self.cli("alice", "read", str(conv), "99", check=False)
        self.assertEqual(past.returncode, 1, past.stdout + past.stderr)
        self.assertIn("bad_request", past.stderr)
        self.assertEqual(self.cli_json("alice", "conversations")["conversations"][0]["unread"], 1)
        self.cli("alice", "read", str(conv), "2")
        listing = self.cli_json("alice", "conversations")["conversations"]
        self.assertEqual(listing[0]["unread"], 0)

        bad = self.cli("alice", "send", "12345", "to nowhere", check=False)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("failed: conversation not found", bad.stdout + bad.stderr)  # the reason, not only "failed"
        bad = self.cli("alice", "history", "12345", check=False)  # says so, and exits non-zero
        self.assertEqual(bad.returncode, 1, bad.stdout + bad.stderr)
        self.assertIn("not_found", bad.stderr)
        bad = subprocess.run([CLI, "--server", "gopher://127.0.0.1:1", "--profile", os.path.join(self.dir, "alice"),
                              "conversations"], capture_output=True, text=True, timeout=30)
        self.assertEqual(bad.returncode, 2, bad.stderr)
        self.assertIn("gopher://127.0.0.1:1", bad.stderr)  # what it tried

    def test_client_store_is_private_whatever_the_umask(self):
        # The profile holds the refresh token: only its owner may read it.
        old = os.umask(0o022)
        try:
            self.two_profiles()
        finally:
            os.umask(old)
        for who in ("alice", "bob"):
            profile = os.path.join(self.dir, who)
            self.assertEqual(stat.S_IMODE(os.stat(profile).st_mode), 0o700, who)
            names = os.listdir(profile)
            self.assertIn("natter-client.db", names)
            for name in names:
                mode = stat.S_IMODE(os.stat(os.path.join(profile, name)).st_mode)
                self.assertEqual(mode & 0o077, 0, f"{who}/{name} is {oct(mode)}")

    def test_offline_sends_survive_a_killed_process_and_arrive_once_in_order(self):
        conv = self.two_profiles()
        self.cli("alice", "send", str(conv), "before")
        self.server.kill()  # the server is unreachable now
        chat = subprocess.Popen([CLI, "--server", self.server.url, "--profile", os.path.join(self.dir, "alice"),
                                 "--timeout", "1", "chat", str(conv)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            for i in range(3):
                chat.stdin.write(f"offline {i}\n")
                chat.stdin.flush()
            # Each send is in the outbox (durable) once its pending state is printed.
            seen, deadline = 0, time.monotonic() + 15
            while seen < 3 and time.monotonic() < deadline:
                line = chat.stdout.readline()
                seen += "pending" in line
            self.assertEqual(seen, 3)
        finally:
            chat.send_signal(signal.SIGKILL)  # no chance to flush anything
            chat.wait(10)
        self.server.start()
        self.cli("alice", "sync")
        self.cli("alice", "sync")  # a second run must not send them again
        texts = [m["text"] for m in self.bob_history(str(conv))]
        self.assertEqual(texts, ["before", "offline 0", "offline 1", "offline 2"])
        # Bob's client acknowledged delivery; alice's sees her messages delivered.
        alice = CApiClient(self.server, os.path.join(self.dir, "alice"))
        self.to_close.append(alice)
        states = {}
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not all(states.get(s) in ("delivered", "read") for s in (2, 3, 4)):
            e = alice.pump(0.2)
            if e and e["@type"] == "message_state" and "seq" in e:
                states[e["seq"]] = e["state"]
        self.assertTrue(all(states.get(s) in ("delivered", "read") for s in (2, 3, 4)), states)

    def test_c_api_session_and_automatic_reconnect(self):
        bob_profile = os.path.join(self.dir, "bob-capi")
        self.cli("alice", "register", "alice", "password-alice")
        self.cli("alice", "login", "alice", "password-alice")
        bob = CApiClient(self.server, bob_profile)
        self.to_close.append(bob)
        bob.wait(lambda e: e["@type"] == "auth_state" and e["state"] == "logged_out", what="logged_out state")
        # Malformed requests produce error events, never a crash.
        bob.send_raw("{not json")
        bob.wait(lambda e: e["@type"] == "error" and e["code"] == "bad_request", what="error event")
        self.assertEqual(bob.call({"@type": "no_such_request"})["code"], "bad_request")
        self.assertEqual(bob.call({"@type": "register", "handle": "bob", "password": "password-bob"})["@type"],
                         "result")
        login = bob.call({"@type": "login", "handle": "bob", "password": "password-bob"})
        self.assertEqual(login["@type"], "result", login)
        bob.wait(lambda e: e["@type"] == "sync_done", what="sync_done")
        conv = self.cli_json("alice", "create-direct", "bob")["id"]
        self.cli("alice", "send", str(conv), "one")
        got = bob.wait(lambda e: e["@type"] == "new_entry" and e["entry"].get("text") == "one", what="live message")
        self.assertTrue(got["live"])
        # The local store knows the members (from the live conversation event).
        members = bob.call({"@type": "get_members", "conversation_id": conv})["members"]
        self.assertEqual(sorted(m["role"] for m in members), ["member", "member"])
        self.assertEqual(len({m["user_id"] for m in members}), 2)
        sent = bob.call({"@type": "send_message", "conversation_id": conv, "text": "two"})
        self.assertEqual(sent["state"], "pending")
        bob.wait(lambda e: e["@type"] == "message_state" and e["client_msg_id"] == sent["client_msg_id"]
                 and e["state"] == "sent", what="sent state")
        # The server dies and comes back: the client reconnects by itself and resumes.
        self.server.kill()
        bob.wait(lambda e: e["@type"] == "connection_state" and e["state"] == "waiting", what="waiting state")
        queued = bob.call({"@type": "send_message", "conversation_id": conv, "text": "while down"})
        self.server.start()
        self.cli("alice", "send", str(conv), "three")
        bob.wait(lambda e: e["@type"] == "connection_state" and e["state"] == "ready", 40, "ready again")
        bob.wait(lambda e: e["@type"] == "message_state" and e["client_msg_id"] == queued["client_msg_id"]
                 and e["state"] in ("sent", "delivered", "read"), 20, "queued message sent")
        bob.wait(lambda e: e["@type"] == "new_entry" and e["entry"].get("text") == "three", 20, "missed message")
        history = bob.call({"@type": "get_history", "conversation_id": conv, "limit": 50})
        texts = [m["text"] for m in history["messages"] if m["kind"] == "message"]
        # Each exactly once, in the server's order (which depends on who reached it first).
        server_order = [m["text"] for m in self.cli_json("alice", "history", str(conv))["messages"]
                        if m["kind"] == "message"]
        self.assertEqual(sorted(texts), sorted(["one", "two", "while down", "three"]))
        self.assertEqual(texts, server_order)
        self.assertEqual(bob.call({"@type": "logout"})["@type"], "result")

    def test_membership_changes_reach_the_local_store(self):
        """Members who knew a group hear what changed, not the list: the local
        member list follows, and a member removed drops the conversation."""
        for who in ("alice", "carol"):
            self.cli(who, "register", who, f"password-{who}")
        bob = CApiClient(self.server, os.path.join(self.dir, "bob-members"))
        self.to_close.append(bob)
        bob.wait(lambda e: e["@type"] == "auth_state" and e["state"] == "logged_out", what="logged_out state")
        self.assertEqual(bob.call({"@type": "register", "handle": "bob", "password": "password-bob"})["@type"],
                         "result")
        self.assertEqual(bob.call({"@type": "login", "handle": "bob", "password": "password-bob"})["@type"], "result")
        bob.wait(lambda e: e["@type"] == "sync_done", what="sync_done")
        self.cli("alice", "login", "alice", "password-alice")
        group = self.cli_json("alice", "create-group", "team", "bob")["id"]
        bob.wait(lambda e: e["@type"] == "conversation" and e["conversation"]["id"] == group, what="the group")
        self.cli("alice", "add-members", str(group), "carol")
        ev = bob.wait(lambda e: e["@type"] == "conversation" and "members_changed" in e, what="carol added")
        self.assertNotIn("members", ev["conversation"])
        members = bob.call({"@type": "get_members", "conversation_id": group})["members"]
        self.assertEqual(len(members), 3)
        # alice removes bob (through the HTTP API): bob's client drops the group.
        status, login = h.http_request(self.server.port, "POST", "/v1/auth/login",
                                       body={"handle": "alice", "password": "password-alice"})
        self.assertEqual(status, 200, login)
        bob_id = next(m["user_id"] for m in members if m["role"] == "member" and
                      m["user_id"] not in (ev["members_changed"][0]["user_id"],))
        status, body = h.http_request(self.server.port, "DELETE", f"/v1/conversations/{group}/members/{bob_id}",
                                      token=login["access_token"])
        self.assertEqual(status, 200, body)
        bob.wait(lambda e: e["@type"] == "conversation_removed" and e["conversation_id"] == group,
                 what="conversation_removed")
        self.assertNotIn(group, [c["id"] for c in bob.call({"@type": "get_conversations"})["conversations"]])

    def test_malformed_frames_are_reported_and_skipped_and_the_client_goes_on(self):
        """Frames of a known type without the fields it needs: each is an error
        event the app sees, never an exception that ends the client's reading
        (before, the first one stopped every later frame from being read)."""
        profile = os.path.join(self.dir, "bob-misbehaving")
        bob = CApiClient(self.server, profile)
        self.to_close.append(bob)
        bob.wait(lambda e: e["@type"] == "auth_state", what="auth state")
        self.assertEqual(bob.call({"@type": "register", "handle": "bob", "password": "password-bob"})["@type"],
                         "result")
        login = bob.call({"@type": "login", "handle": "bob", "password": "password-bob"})
        bob.wait(lambda e: e["@type"] == "sync_done", what="sync_done")
        bob.close()
        good = {"type": "message", "message": {"conversation_id": 5, "seq": 1, "kind": "message", "sender_id": 77,
                                               "client_msg_id": "x1", "text": "still here", "created_at": 1}}

        def script(n):
            if n == 0:  # a malformed catch-up: the client starts over on a new connection
                return [], [{"type": "sync.conversation", "data": {}}]
            return [{"type": "message"}, "[1,2,3]", good], []

        fake = MisbehavingServer(script)
        try:
            bob = CApiClient(fake, profile)
            self.to_close.append(bob)
            first = bob.wait(lambda e: e["@type"] == "error" and e["code"] == "bad_frame", 15, "bad_frame")
            self.assertIn("sync.conversation", first["message"])
            got = bob.wait(lambda e: e["@type"] == "new_entry", 20, "the good message after the bad ones")
            self.assertEqual(got["entry"]["text"], "still here")
            codes = [e.get("code") for e in bob.events if e["@type"] == "error"]
            self.assertGreaterEqual(codes.count("bad_frame"), 2, bob.events[-10:])
            self.assertNotIn("internal", codes)
            self.assertGreaterEqual(fake.connections, 2)
            bob.close()
        finally:
            fake.close()
        self.assertEqual(login["@type"], "result")

    def test_the_c_example_in_the_docs_builds_and_sends(self):
        """docs/client.md's C program, compiled and run as written, with this
        test's server, user and conversation put in its literals."""
        doc = open(os.path.join(HERE, "..", "..", "docs", "client.md")).read()
        start = doc.index("```c\n#include <natter/natter.h>")
        program = doc[start + len("```c\n"):doc.index("```", start + 4)]
        self.cli("alice", "register", "alice", "correct horse")
        self.cli("bob", "register", "bob", "password-bob")
        self.cli("alice", "login", "alice", "correct horse")
        conv = self.cli_json("alice", "create-direct", "bob")["id"]
        program = (program.replace("http://127.0.0.1:8080", self.server.url)
                   .replace("./alice", os.path.join(self.dir, "alice-c"))
                   .replace("246895571091456", str(conv)))
        source, binary = os.path.join(self.dir, "demo.c"), os.path.join(self.dir, "demo")
        with open(source, "w") as f:
            f.write(program)
        include = os.path.join(HERE, "..", "..", "libnatter", "include")
        subprocess.run(["cc", source, "-I" + include, "-L" + os.path.dirname(LIB), "-lnatter", "-o", binary],
                       check=True, capture_output=True, text=True)
        run = subprocess.run([binary], capture_output=True, text=True, timeout=60,
                             env=dict(os.environ, LD_LIBRARY_PATH=os.path.dirname(LIB)))
        self.assertEqual(run.returncode, 0, run.stdout[-2000:] + run.stderr)
        self.assertIn('"state":"sent"', run.stdout)

    def test_a_client_that_cannot_be_made_says_why(self):
        CApiClient(self.server, os.path.join(self.dir, "probe")).close()  # loads the library
        lib = CApiClient.lib
        for options, why in (("{not json", "not a JSON object"),
                             (json.dumps({"server": "http://127.0.0.1:1"}), "database_directory"),
                             (json.dumps({"server": "gopher://x:1", "database_directory": self.dir}), "gopher://x:1")):
            self.assertIsNone(lib.natter_client_create(options.encode()))
            self.assertIn(why, lib.natter_last_error().decode())
        handle = lib.natter_client_create(json.dumps({"server": self.server.url,
                                                      "database_directory": os.path.join(self.dir, "ok")}).encode())
        self.assertTrue(handle)
        self.assertEqual(lib.natter_last_error().decode(), "")
        lib.natter_client_destroy(handle)

    def test_an_answer_shows_the_question_as_read(self):
        """Bob answers without marking anything read: his message moved his
        watermarks (the server sends no receipt for that), so alice's client
        shows her question as read (before, it stayed sent)."""
        conv = self.two_profiles()
        alice = CApiClient(self.server, os.path.join(self.dir, "alice"))
        self.to_close.append(alice)
        alice.wait(lambda e: e["@type"] == "sync_done", what="sync_done")
        sent = alice.call({"@type": "send_message", "conversation_id": conv, "text": "lunch?"})
        alice.wait(lambda e: e["@type"] == "message_state" and e["client_msg_id"] == sent["client_msg_id"]
                   and e["state"] == "sent", what="sent")
        self.cli("bob", "send", str(conv), "yes!")
        alice.wait(lambda e: e["@type"] == "message_state" and e["client_msg_id"] == sent["client_msg_id"]
                   and e["state"] == "read", 15, "lunch? shown as read")

    def test_states_of_my_messages_in_two_conversations_are_told_apart(self):
        """Seqs count per conversation: alice's first message to bob and her
        first to carol are both seq 1, and each is told delivered when its own
        peer's device has it (before, the state was remembered by seq alone, so
        carol's delivery was taken for told already and never reported)."""
        to_bob = self.two_profiles()
        self.cli("carol", "register", "carol", "password-carol")
        self.cli("carol", "login", "carol", "password-carol")
        to_carol = self.cli_json("alice", "create-direct", "carol")["id"]
        alice = CApiClient(self.server, os.path.join(self.dir, "alice"))
        self.to_close.append(alice)
        alice.wait(lambda e: e["@type"] == "sync_done", what="sync_done")
        ids = {}
        for conv in (to_bob, to_carol):
            ids[conv] = alice.call({"@type": "send_message", "conversation_id": conv, "text": "hi"})["client_msg_id"]
            sent = alice.wait(lambda e: e["@type"] == "message_state" and e["client_msg_id"] == ids[conv]
                              and e["state"] == "sent", what="sent")
            self.assertEqual(sent["seq"], 1)
        for who, conv in (("bob", to_bob), ("carol", to_carol)):
            self.cli(who, "sync")
            alice.wait(lambda e: e["@type"] == "message_state" and e["client_msg_id"] == ids[conv]
                       and e["state"] == "delivered", 10, f"delivered to {who}")

    def test_writing_reads_what_came_before_locally_too(self):
        """The server moves a sender's watermarks to its own message; a running
        client does too, so its unread count agrees with the server's (before,
        it kept counting the message it answered)."""
        conv = self.two_profiles()
        bob = CApiClient(self.server, os.path.join(self.dir, "bob"))
        self.to_close.append(bob)
        bob.wait(lambda e: e["@type"] == "sync_done", what="sync_done")
        self.cli("alice", "send", str(conv), "are you there?")
        bob.wait(lambda e: e["@type"] == "new_entry" and e["entry"].get("text") == "are you there?", what="message")
        unread = lambda: next(c["unread"] for c in bob.call({"@type": "get_conversations"})["conversations"]
                              if c["id"] == conv)
        self.assertEqual(unread(), 1)
        sent = bob.call({"@type": "send_message", "conversation_id": conv, "text": "yes"})
        bob.wait(lambda e: e["@type"] == "message_state" and e["client_msg_id"] == sent["client_msg_id"]
                 and e["state"] == "sent", what="sent")
        self.assertEqual(unread(), 0)

    def test_gap_beyond_one_page_fills_on_request(self):
        conv = self.two_profiles()
        self.cli("bob", "sync")
        for i in range(12):  # more than the server's sync page (5)
            self.cli("alice", "send", str(conv), f"m{i}")
        bob = CApiClient(self.server, os.path.join(self.dir, "bob"))
        self.to_close.append(bob)
        bob.wait(lambda e: e["@type"] == "sync_done", what="sync_done")
        # The catch-up brought only the newest page; the rest is a gap.
        caught = sorted(e["entry"]["seq"] for e in bob.events if e["@type"] == "new_entry")
        self.assertEqual(caught, list(range(8, 13)))
        page = bob.call({"@type": "get_history", "conversation_id": conv, "limit": 50})
        self.assertEqual([m["seq"] for m in page["messages"]], list(range(1, 13)))

    def test_access_token_is_refreshed_before_it_expires(self):
        self.server.stop()
        self.server = Server(os.path.join(self.dir, "server2"), "--access-token-ttl", "62").start()
        self.cli("bob", "register", "bob", "password-bob")
        bob_dir = os.path.join(self.dir, "bob")
        bob = CApiClient(self.server, bob_dir)
        self.to_close.append(bob)
        self.assertEqual(bob.call({"@type": "login", "handle": "bob", "password": "password-bob"})["@type"], "result")
        bob.wait(lambda e: e["@type"] == "sync_done", 15, "sync_done")
        import sqlite3

        def tokens():
            with sqlite3.connect(os.path.join(bob_dir, "natter-client.db")) as db:
                return dict(db.execute("SELECT key, value FROM kv WHERE key IN ('access_token', 'refresh_token')"))
        first = tokens()
        # A minute before expiry (here: about 2 s after login) the client rotates
        # both tokens and re-authenticates its open socket.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and tokens() == first:
            bob.pump(0.2)
        now = tokens()
        self.assertNotEqual(now["access_token"], first["access_token"])
        self.assertNotEqual(now["refresh_token"], first["refresh_token"])
        self.assertEqual(bob.call({"@type": "get_state"})["connection"], "ready")
        # The old refresh token was rotated away: presenting it again ends the session.
        status, _ = h.http_request(self.server.port, "POST", "/v1/auth/refresh", {"refresh_token": first["refresh_token"]})
        self.assertEqual(status, 401)

    def test_corrupt_local_store_is_replaced_and_refilled(self):
        conv = self.two_profiles()
        self.cli("alice", "send", str(conv), "kept on the server")
        db = os.path.join(self.dir, "bob", "natter-client.db")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)
        with open(db, "wb") as f:
            f.write(b"this is not a database" * 100)
        # No crash: the store starts empty, so bob is logged out...
        out = self.cli("bob", "--json", "conversations", check=False)
        self.assertNotIn("Segmentation", out.stderr)
        self.assertIn(out.returncode, (0, 1, 3), out.stderr)
        # ...and after logging in again, sync brings everything back.
        self.cli("bob", "login", "bob", "password-bob")
        self.assertEqual([m["text"] for m in self.bob_history(str(conv))], ["kept on the server"])

    def test_refused_refresh_token_asks_the_app_to_log_in(self):
        self.two_profiles()
        bob_dir = os.path.join(self.dir, "bob")
        import sqlite3
        with sqlite3.connect(os.path.join(bob_dir, "natter-client.db")) as db:
            token = db.execute("SELECT value FROM kv WHERE key = 'access_token'").fetchone()[0]
        # The session ends elsewhere (as if the user logged out on the web).
        status, _ = h.http_request(self.server.port, "POST", "/v1/auth/logout", token=token)
        self.assertEqual(status, 200)
        bob = CApiClient(self.server, bob_dir)
        self.to_close.append(bob)
        bob.wait(lambda e: e["@type"] == "auth_state" and e["state"] == "needs_login", 15, "needs_login")
        # Logging in again works and the client is back.
        self.assertEqual(bob.call({"@type": "login", "handle": "bob", "password": "password-bob"})["@type"], "result")
        bob.wait(lambda e: e["@type"] == "sync_done", 15, "sync after login")

    def test_interactive_chat_shows_what_a_reconnect_catches_up(self):
        """A message sent while bob's chat was cut off reaches it by catch-up,
        not live: the chat shows it all the same (before, only live entries)."""
        if shutil.which("tmux") is None:
            self.fail("tmux is not installed (scripts/install-deps.sh installs it)")
        conv = self.two_profiles()
        proxy = SwitchableProxy(self.server.port)
        session = f"natter-catchup-{os.getpid()}"
        env = dict(os.environ, TMUX="")
        cmd = [CLI, "--server", proxy.url, "--timeout", "5", "--profile", os.path.join(self.dir, "bob"), "chat",
               str(conv)]

        def screen():
            return subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True,
                                  env=env).stdout

        def wait_for(text, timeout):
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and text not in screen():
                time.sleep(0.2)
            self.assertIn(text, screen())

        subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "30", " ".join(cmd)],
                       check=True, env=env)
        try:
            wait_for("Ctrl-D to quit", 15)
            time.sleep(0.5)
            proxy.set(False)  # bob is cut off...
            wait_for("(waiting: ", 10)
            self.cli("alice", "send", str(conv), "sent while you were away")  # ...so this is not live for him
            proxy.set(True)
            wait_for("sent while you were away", 30)
        finally:
            subprocess.run(["tmux", "kill-session", "-t", session], env=env)
            proxy.close()

    def test_interactive_chat_under_tmux(self):
        if shutil.which("tmux") is None:
            self.fail("tmux is not installed (scripts/install-deps.sh installs it)")
        conv = self.two_profiles()
        session = f"natter-test-{os.getpid()}"
        base = [CLI, "--server", self.server.url, "--timeout", "5", "chat", str(conv)]
        env = dict(os.environ, TMUX="")
        subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "30",
                        " ".join(base[:1] + ["--profile", os.path.join(self.dir, "alice")] + base[1:])],
                       check=True, env=env)
        try:
            subprocess.run(["tmux", "new-window", "-t", session,
                            " ".join(base[:1] + ["--profile", os.path.join(self.dir, "bob")] + base[1:])],
                           check=True, env=env)
            time.sleep(1.5)

            def screen_shows(window, text, timeout=15):
                deadline, screen = time.monotonic() + timeout, ""
                while time.monotonic() < deadline and text not in screen:
                    time.sleep(0.3)
                    screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", f"{session}:{window}"],
                                            capture_output=True, text=True, env=env).stdout
                self.assertIn(text, screen)

            # Keys as they are typed: bob sees alice typing before she sends.
            subprocess.run(["tmux", "send-keys", "-t", f"{session}:0", "hello from"], check=True, env=env)
            screen_shows(1, "(alice is typing)")
            subprocess.run(["tmux", "send-keys", "-t", f"{session}:0", " tmux", "Enter"], check=True, env=env)
            screen_shows(1, "alice: hello from tmux")
            # Backspace takes a whole character: "é" typed and taken back leaves no stray byte
            # (before, the line became invalid UTF-8 and the message was lost).
            subprocess.run(["tmux", "send-keys", "-t", f"{session}:0", "café", "BSpace", "BSpace", "BSpace",
                            "BSpace", "ok", "Enter"], check=True, env=env)
            screen_shows(1, "alice: ok")
            screen_shows(0, "sent)")
            # A /command: bob reacts to it, and both see it by name.
            subprocess.run(["tmux", "send-keys", "-t", f"{session}:1", "/react 1 +1", "Enter"], check=True, env=env)
            screen_shows(0, "* bob reacted +1 to [1]")
        finally:
            subprocess.run(["tmux", "kill-session", "-t", session], env=env)


class SessionTest(h.unittest.TestCase):
    """The session outlives what does not end it."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="natter-session-")
        self.server = Server(os.path.join(self.dir, "server"), "--access-token-ttl", "4", "--requests-per-second",
                             "5000", "--request-burst", "5000").start()

    def tearDown(self):
        self.server.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_failed_logins_during_token_refreshes_do_not_end_the_session(self):
        """Wrong-password logins while the client refreshes its 4 s token every
        5 s: each refresh's answer is kept (before, a login under way made the
        client drop it though the server had already rotated the token, so the
        next refresh reused the old one and the server ended the session)."""
        client = CApiClient(self.server, os.path.join(self.dir, "profile"))
        try:
            self.assertEqual(client.call({"@type": "register", "handle": "erin", "password": "password-erin"})["@type"],
                             "result")
            self.assertEqual(client.call({"@type": "login", "handle": "erin", "password": "password-erin"})["@type"],
                             "result")
            client.wait(lambda e: e["@type"] == "sync_done", what="sync_done")
            client.events.clear()
            deadline = time.monotonic() + 12  # two refreshes or more
            while time.monotonic() < deadline:
                answer = client.call({"@type": "login", "handle": "erin", "password": "wrong-password"})
                self.assertEqual(answer["@type"], "error")
            self.assertFalse([e for e in client.events if e.get("state") in ("needs_login", "logged_out")],
                             client.events[-10:])
            for _ in range(100):  # (a socket whose token lapsed during the flood reconnects)
                if client.call({"@type": "get_state"})["connection"] == "ready":
                    break
                time.sleep(0.1)
            status = client.call({"@type": "get_user", "handle": "erin"})
            self.assertEqual(status["@type"], "result", status)
        finally:
            client.close()


class ExampleChatClientTest(h.ServerTestCase):
    """examples/chat_client.py against natterd: deleted messages, edits and
    reactions print (before, a deleted message's missing text crashed it), and
    it renews its token on the open socket, so it outlives the token."""
    server_args = ("--access-token-ttl", "4")
    timeout = 60

    def test_the_example_shows_every_kind_of_entry_and_outlives_its_token(self):
        alice, bob = self.server.new_user("exa"), self.server.new_user("exb")
        status, conv = self.server.http("POST", "/v1/conversations", {"kind": "direct", "peer_id": bob.id},
                                        token=alice.token)
        self.assertEqual(status, 200, conv)
        cid = conv["id"]

        def send(text, token=alice.token):
            status, body = self.server.http("POST", f"/v1/conversations/{cid}/messages",
                                            {"client_msg_id": str(time.monotonic_ns()), "text": text}, token=token)
            self.assertEqual(status, 200, body)
            return body["seq"]

        one, two = send("one"), send("two")
        for method, path, body, token in (
                ("DELETE", f"/v1/conversations/{cid}/messages/{two}", None, alice.token),
                ("PATCH", f"/v1/conversations/{cid}/messages/{one}", {"text": "one!"}, alice.token),
                ("PUT", f"/v1/conversations/{cid}/messages/{one}/reactions", {"emoji": "+1"}, bob.token)):
            status, answer = self.server.http(method, path, body, token=token)
            self.assertEqual(status, 200, answer)
        proc = subprocess.Popen(["/usr/bin/python3", EXAMPLE, "--server", f"http://127.0.0.1:{self.server.port}",
                                 "--handle", bob.handle, "--password", bob.password, "--conversation", str(cid)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out = []
        try:
            def read_until(text, timeout):
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    line = proc.stdout.readline()
                    if not line:
                        break
                    out.append(line)
                    if text in line:
                        return
                self.fail(f"no {text!r} in {out}; stderr: {proc.stderr.read() if proc.poll() is not None else ''}")

            read_until("reacted +1", 10)
            joined = "".join(out)
            self.assertIn("(deleted)", joined)
            self.assertIn("edited", joined)
            time.sleep(6)  # past the 4 s token: the socket stays open only if the example renewed it
            send("after the token")
            read_until("after the token", 10)
            proc.stdin.write("hi from the example\n")
            proc.stdin.flush()
            read_until("me: hi from the example", 10)
        finally:
            proc.terminate()
            proc.wait(10)

class ErasedUserTest(h.ServerTestCase):
    """A client that looked a user up learns of their erasure (docs/admin.md):
    while online it asks the server, not what it kept."""
    server_args = ("--admins", "boss")

    def call(self, method, path, user, body=None, expect=200):
        status, answer = self.server.http(method, path, body, token=user.token)
        self.assertEqual(status, expect, answer)
        return answer

    def test_a_client_that_knew_the_user_learns_of_the_erasure(self):
        boss = self.server.named_user("boss")
        alice, bob = self.server.new_user("cl"), self.server.new_user("cl")
        where = types.SimpleNamespace(url=f"http://127.0.0.1:{self.server.port}")
        client = CApiClient(where, tempfile.mkdtemp(prefix="natter-erasure-client-"))
        try:
            self.assertEqual(client.call({"@type": "login", "handle": alice.handle, "password": alice.password})["@type"],
                             "result")
            client.wait(lambda e: e["@type"] == "sync_done", what="sync_done")
            known = client.call({"@type": "get_user", "handle": bob.handle})
            self.assertEqual(known["user_id"], bob.id)
            self.call("DELETE", f"/admin/v1/users/{bob.id}", boss)
            shown = client.call({"@type": "get_user", "user_id": bob.id})
            self.assertEqual((shown["handle"], shown.get("erased")), (f"~erased-{bob.id}", True))
            gone = client.call({"@type": "get_user", "handle": bob.handle})
            self.assertEqual((gone["@type"], gone.get("code")), ("error", "not_found"), gone)
        finally:
            client.close()


if __name__ == "__main__":
    h.main()
