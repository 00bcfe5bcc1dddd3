"""libnatter (through its C API, in this process) against servers that
misbehave: one that accepts and never answers, one that closes in the middle
of the upgrade or of a frame, one that takes requests and never answers them,
and one that sends hundreds of random and mutilated frames. The process never
crashes, the client thread never blocks (requests are answered, destroy
returns at once), and every failure says which URL and what went wrong."""

import copy
import json
import os
import random
import shutil
import tempfile
import threading
import time

import natter_harness as h
from client_harness import CApiClient, MisbehavingServer, RawServer, Server


def destroy_within(client, seconds):
    """Destroys the client on another thread; True when that returned in time."""
    done = threading.Thread(target=client.close, daemon=True)
    done.start()
    done.join(seconds)
    return not done.is_alive()


class HostileServerTest(h.unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # A profile logged in against a real natterd, then pointed at the hostile ones.
        cls.dir = tempfile.mkdtemp(prefix="natter-hostile-")
        cls.server = Server(os.path.join(cls.dir, "server")).start()
        cls.profile = os.path.join(cls.dir, "template")
        client = CApiClient(cls.server, cls.profile)
        assert client.call({"@type": "register", "handle": "carol", "password": "password-carol"})["@type"] == "result"
        assert client.call({"@type": "login", "handle": "carol", "password": "password-carol"})["@type"] == "result"
        client.wait(lambda e: e["@type"] == "sync_done", what="sync_done")
        client.close()
        cls.server.stop()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        self.to_close = []

    def tearDown(self):
        for c in self.to_close:
            c.close()

    def client(self, server, **options):
        """A client on a copy of the logged-in profile, talking to `server`."""
        profile = tempfile.mkdtemp(dir=self.dir)
        shutil.copytree(self.profile, profile, dirs_exist_ok=True)
        client = CApiClient(server, profile, **options)
        self.to_close.append(client)
        return client

    def test_a_server_that_never_answers_blocks_nothing_and_destroy_returns_at_once(self):
        silent = RawServer(lambda sock, n: (RawServer.read_request(sock), time.sleep(60)))
        self.to_close.append(silent)
        client = self.client(silent, timeout_seconds=1)
        client.wait(lambda e: e.get("state") == "connecting", 5, "connecting")
        started = time.monotonic()
        state = client.call({"@type": "get_state"}, timeout=2)
        self.assertLess(time.monotonic() - started, 0.5)
        self.assertEqual(state["connection"], "connecting")

        waiting = client.wait(lambda e: e.get("state") == "waiting", 5, "waiting")
        self.assertEqual(waiting["reason"], f"ws://127.0.0.1:{silent.port}/v1/ws: upgrade: timed out after 1000 ms")

        started = time.monotonic()
        login = client.call({"@type": "login", "handle": "carol", "password": "password-carol"}, timeout=5)
        self.assertEqual(login["code"], "unavailable")
        self.assertIn(f"http://127.0.0.1:{silent.port}/v1/auth/login: read answer: timed out after 1000 ms",
                      login["message"])
        self.assertLess(time.monotonic() - started, 3)

        # Destroyed while a login and a connection attempt are both under way.
        client.send_raw(json.dumps({"@type": "login", "handle": "carol", "password": "password-carol"}))
        client.send_raw(json.dumps({"@type": "network_changed"}))
        time.sleep(0.1)
        started = time.monotonic()
        self.assertTrue(destroy_within(client, 5), "natter_client_destroy did not return")
        self.assertLess(time.monotonic() - started, 1)

    def test_a_server_that_closes_mid_upgrade_or_mid_frame(self):
        def handler(sock, n):
            if n == 0:  # half a response to the upgrade
                RawServer.read_request(sock)
                sock.sendall(b"HTTP/1.1 101 Swi")
            elif n == 1:  # a frame header cut short
                RawServer.upgrade(sock)
                sock.sendall(b"\x81\x7e\x01")
            elif n == 2:  # a frame whose payload stops half way
                RawServer.upgrade(sock)
                sock.sendall(b"\x81\x09{\"type\":")
            else:
                RawServer.read_request(sock)
                time.sleep(60)
                return
            sock.close()

        raw = RawServer(handler)
        self.to_close.append(raw)
        client = self.client(raw, timeout_seconds=2)
        reasons = [client.wait(lambda e: e.get("state") == "waiting", 10, f"failure {i}")["reason"] for i in range(3)]
        ws = f"ws://127.0.0.1:{raw.port}/v1/ws"
        self.assertTrue(reasons[0].startswith(f"{ws}: upgrade: "), reasons)
        for reason in reasons[1:]:
            self.assertTrue(reason.startswith(f"{ws}: connection lost: "), reasons)
        self.assertEqual(client.call({"@type": "get_state"}, timeout=2)["@type"], "result")
        self.assertNotIn("internal", [e.get("code") for e in client.events])

    def test_a_server_that_takes_requests_and_never_answers_is_left_for_a_new_connection(self):
        fake = MisbehavingServer(lambda n: ([], None if n == 0 else []))
        self.to_close.append(fake)
        client = self.client(fake, timeout_seconds=0.5)
        waiting = client.wait(lambda e: e.get("state") == "waiting", 10, "waiting")
        self.assertEqual(waiting["reason"], f"ws://127.0.0.1:{fake.port}/v1/ws: no answer to 'sync' and nothing else within 1500 ms")
        client.wait(lambda e: e["@type"] == "sync_done", 10, "sync_done on the next connection")
        self.assertEqual(fake.connections, 2)

    def test_a_slow_catch_up_that_keeps_coming_is_waited_for(self):
        """A catch-up of many frames may take longer than the answer deadline;
        while frames keep coming the client waits (before, it gave the
        connection up after three times the timeout and started over, for ever)."""
        frame = {"type": "sync.conversation", "data": {
            "conversation_id": 5, "my_role": "member", "conversation": {"id": 5, "kind": "group", "large": False},
            "members": [{"user_id": 77, "delivered_seq": 0, "read_seq": 0}], "events": []}}
        slow = [x for _ in range(8) for x in (0.3, frame)]  # 2.4 s, past the 1.5 s deadline
        fake = MisbehavingServer(lambda n: ([], slow))
        self.to_close.append(fake)
        client = self.client(fake, timeout_seconds=0.5)
        client.wait(lambda e: e["@type"] == "sync_done", 15, "sync_done")
        self.assertEqual(fake.connections, 1)
        self.assertNotIn("waiting", [e.get("state") for e in client.events])

    def test_an_acknowledgement_of_another_message_does_not_settle_mine(self):
        """The first answer to messages.send names another message (seq 9):
        the message stays pending and goes again (the same client_msg_id), and
        only the answer that names it settles it (before, it was marked sent as
        seq 9)."""
        sends = []

        def answer(request):
            if request.get("type") != "messages.send":
                return {}
            sends.append(request["client_msg_id"])
            entry = {"conversation_id": request["conversation_id"], "kind": "message", "sender_id": 1,
                     "text": request["text"], "created_at": 1}
            if len(sends) == 1:
                return dict(entry, seq=9, client_msg_id="someone-elses")
            return dict(entry, seq=10, client_msg_id=request["client_msg_id"])

        fake = MisbehavingServer(lambda n: ([], []), answer)
        self.to_close.append(fake)
        client = self.client(fake, timeout_seconds=2)
        client.wait(lambda e: e["@type"] == "sync_done", 10, "sync_done")
        sent = client.call({"@type": "send_message", "conversation_id": 5, "text": "mine"})
        state = client.wait(lambda e: e["@type"] == "message_state" and e["state"] == "sent", 10, "sent")
        self.assertEqual(state["seq"], 10)
        self.assertEqual(sends, [sent["client_msg_id"]] * 2)
        bad = [e for e in client.events if e["@type"] == "error" and e["code"] == "bad_frame"]
        self.assertIn("the entry is not the message sent", bad[0]["message"])

    def test_a_server_cannot_speak_plainly_in_an_encrypted_conversation(self):
        """A server that puts plain text in an encrypted conversation (as if a
        member had written it), or makes a plain conversation when an
        encrypted one was asked for, is caught: the text is not shown as a
        member's, and nothing plain is sent there."""
        forged = {"conversation_id": 5, "seq": 1, "kind": "message", "sender_id": 77, "client_msg_id": "x",
                  "text": "forged by the server", "created_at": 1}
        frame = {"type": "sync.conversation", "data": {
            "conversation_id": 5, "my_role": "member",
            "conversation": {"id": 5, "kind": "group", "large": False, "encrypted": True},
            "members": [{"user_id": 77, "delivered_seq": 0, "read_seq": 0}], "events": [forged]}}

        asked = []

        def answer(request):
            asked.append(request)
            if request.get("type") == "conversations.create":  # asked encrypted, made plain
                return {"id": 6, "kind": "direct", "encrypted": False, "members": []}
            return {}

        # Later the server lists the conversation as plain: it stays encrypted here.
        relisted = {"type": "conversation", "conversation": {"id": 5, "kind": "group", "large": False,
                                                            "encrypted": False}}
        fake = MisbehavingServer(lambda n: ([relisted], [frame]), answer)
        self.to_close.append(fake)
        client = self.client(fake, timeout_seconds=2)
        failed = client.wait(lambda e: e["@type"] == "decryption_failed", 10, "decryption_failed")
        self.assertEqual((failed["seq"], failed["code"]), (1, "not_encrypted"))
        client.wait(lambda e: e["@type"] == "sync_done", 10, "sync_done")
        [entry] = client.call({"@type": "get_history", "conversation_id": 5})["messages"]
        self.assertNotIn("text", entry)
        self.assertEqual(entry["undecryptable"], "not_encrypted")
        made = client.call({"@type": "create_direct", "peer_id": 77, "encrypted": True})
        self.assertEqual((made["@type"], made["code"]), ("error", "bad_frame"), made)
        client.wait(lambda e: e["@type"] == "conversation", 10, "the plain listing")
        [listed] = client.call({"@type": "get_conversations"})["conversations"]
        self.assertEqual((listed["id"], listed["encrypted"]), (5, True))
        # A send there is sealed or not sent (this client has no keys): never plain.
        sent = client.call({"@type": "send_message", "conversation_id": 5, "text": "never in the clear"})
        state = client.wait(lambda e: e["@type"] == "message_state" and e["client_msg_id"] == sent["client_msg_id"]
                            and e["state"] == "failed", 10, "the send refused here")
        self.assertEqual(state["code"], "bad_request")
        edit = client.call({"@type": "edit_message", "conversation_id": 5, "seq": 1, "text": "nor this"})
        self.assertEqual(edit["@type"], "error", edit)
        self.assertFalse([r for r in asked if "text" in r], asked)

    def test_random_and_mutilated_frames_never_crash_or_hang_the_process(self):
        seed = int(os.environ.get("NATTER_FRAME_SEED", time.time_ns() % 1_000_000))
        rng = random.Random(seed)
        frames = [random_frame(rng) for _ in range(400)]
        marker = {"type": "message", "message": dict(ENTRY, seq=999, client_msg_id="m", text="still here")}
        # During the first catch-up (a bad frame there means a new connection),
        # then after the second one's answer, then the good frame alone.
        fake = MisbehavingServer(lambda n: [([], frames[:40] + ["not json"]), (frames + [marker], [])][n] if n < 2 else ([marker], []))
        self.to_close.append(fake)
        client = self.client(fake, timeout_seconds=2)
        got = client.wait(lambda e: e["@type"] == "new_entry" and e["entry"].get("text") == "still here", 30,
                          f"the good frame after the hostile ones (seed {seed})")
        self.assertEqual(got["entry"]["seq"], 999)
        self.assertEqual(client.call({"@type": "get_state"}, timeout=2)["@type"], "result", f"seed {seed}")
        codes = [e.get("code") for e in client.events if e["@type"] == "error"]
        self.assertNotIn("internal", codes, f"seed {seed}: {client.events[-20:]}")
        self.assertGreater(codes.count("bad_frame"), 10, f"seed {seed}")
        self.assertTrue(destroy_within(client, 5), f"seed {seed}: destroy did not return")


ENTRY = {"conversation_id": 5, "seq": 2, "kind": "message", "sender_id": 77, "client_msg_id": "r", "text": "t",
         "created_at": 1}
VALID = [
    {"type": "message", "message": ENTRY},
    {"type": "receipt", "conversation_id": 5, "user_id": 77, "delivered_seq": 1, "read_seq": 1},
    {"type": "conversation", "conversation": {"id": 5, "kind": "group", "title": "g", "large": False,
                                              "members": [{"user_id": 77, "role": "member"}]},
     "members_changed": [{"user_id": 78, "role": "member"}], "members_removed": [79]},
    {"type": "sync.conversation", "data": {"conversation_id": 5, "my_role": "member",
                                           "conversation": {"id": 5, "kind": "direct", "large": False},
                                           "members": [{"user_id": 77, "delivered_seq": 1, "read_seq": 1}],
                                           "events": [ENTRY]}},
    {"type": "typing", "conversation_id": 5, "user_id": 77},
    {"type": "presence", "user_id": 77, "online": True},
    {"type": "resync"},
    {"type": "result", "id": "c2", "data": {"seq": 3}},
    {"type": "error", "id": "c3", "code": "internal", "message": "x"},
]
ODD_VALUES = [None, "", "x", -1, 0, 2 ** 63 - 1, -2 ** 63, 2 ** 64, 1.5, 1e308, [], {}, True, [1, "a"], {"a": 1},
              "\u0000", "\ud7ff" * 3]


def random_frame(rng):
    """A valid frame with one to three parts deleted or replaced, or text that is not a frame at all."""
    roll = rng.random()
    if roll < 0.1:
        text = json.dumps(rng.choice(VALID))
        return text[:rng.randrange(len(text))]  # truncated JSON
    if roll < 0.15:
        return rng.choice(["[1,2,3]", "null", "42", "\"s\"", "[" * 5000, "{\"type\":" * 300, "1e999",
                           "{\"type\":\"message\",\"message\":" + "[" * 100 + "]" * 100 + "}"])
    frame = copy.deepcopy(rng.choice(VALID))
    for _ in range(rng.randint(1, 3)):
        mutate(frame, rng)
    return frame


def mutate(node, rng):
    while True:
        keys = list(node.keys()) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            return
        key = rng.choice(keys)
        child = node[key]
        if isinstance(child, (dict, list)) and child and rng.random() < 0.6:
            node = child
            continue
        if isinstance(node, dict) and rng.random() < 0.4:
            del node[key]
        else:
            node[key] = copy.deepcopy(rng.choice(ODD_VALUES))  # never the shared one: it could end up inside itself
        return


if __name__ == "__main__":
    h.main()
