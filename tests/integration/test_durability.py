"""Acknowledged means durable: 8 WebSocket senders write as fast as acks come,
natterd is SIGKILLed mid-load and restarted on the same data directory; every
acknowledged message must be there, in order, exactly once, with dense
sequence numbers, and retries of both lost and acknowledged sends must be
deduplicated."""

import asyncio
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import natter_harness as h  # noqa: E402
from natter_harness import WsClient  # noqa: E402

LOAD_SECONDS = 2.0
SENDERS = 8
PAGE = 100


class Sender:
    def __init__(self, index, user, cid):
        self.index = index
        self.user = user
        self.cid = cid
        self.acked = []        # (cid, seq, client_msg_id, text) in send order
        self.in_flight = None  # (cid, client_msg_id, text) sent but not acknowledged
        self.errors = []
        self.retries = 0

    def message(self, n):
        return f"s{self.index}-{n}", f"sender {self.index} message {n} " + "~" * (n % 40)

    async def run(self, server, stop):
        client = await WsClient.connect(server, token=self.user.token, keep_events=False)
        try:
            n = 0
            while not stop.is_set() and n < 1_000_000:
                cmid, text = self.message(n)
                self.in_flight = (self.cid, cmid, text)
                try:
                    frame = await client.request("messages.send", timeout=10, conversation_id=self.cid,
                                                 client_msg_id=cmid, text=text)
                except (AssertionError, h.websockets.exceptions.ConnectionClosed, OSError):
                    return  # the server is gone; this send stays in flight
                if frame["type"] == "error":
                    if frame["code"] == "unavailable" and self.retries < 1000:
                        self.retries += 1  # overloaded: retry the same message
                        await asyncio.sleep(0.01)
                        continue
                    self.errors.append(frame)
                    return
                ack = frame["data"]
                if (ack["conversation_id"], ack["client_msg_id"], ack["text"], ack["sender_id"],
                        ack["duplicate"]) != (self.cid, cmid, text, self.user.id, False):
                    self.errors.append(("bad ack", ack))
                    return
                self.acked.append((self.cid, ack["seq"], cmid, text))
                self.in_flight = None
                n += 1
        finally:
            await client.close()


async def read_all(client, cid):
    """The whole history of a conversation, paging forward with after/limit."""
    messages = []
    cursor = 0
    for _ in range(10_000):
        page = await client.call("messages.history", conversation_id=cid, after=cursor, limit=PAGE)
        messages.extend(page["messages"])
        if not page["has_more"]:
            return messages, page["last_seq"]
        if not page["messages"]:
            raise AssertionError(f"has_more with an empty page after {cursor}")
        cursor = page["messages"][-1]["seq"]
    raise AssertionError("history did not end")


class DurabilityTest(h.AsyncTestCase):
    timeout = 55

    def setUp(self):
        self.server = h.Natterd("--requests-per-second", "100000", "--request-burst", "100000",
                                name="durability")

    def tearDown(self):
        self.server.close()

    def check_history(self, history, last_seq, cid):
        seqs = [m["seq"] for m in history]
        self.assertEqual(seqs, list(range(1, len(history) + 1)), f"conversation {cid}: gaps or duplicates")
        self.assertEqual(last_seq, len(history), f"conversation {cid}: last_seq")
        keys = [(m["sender_id"], m["client_msg_id"]) for m in history]
        self.assertEqual(len(keys), len(set(keys)), f"conversation {cid}: a client_msg_id stored twice")

    async def test_acknowledged_messages_survive_sigkill(self):
        started = time.monotonic()
        server = self.server.start()
        users = [server.new_user("dur") for _ in range(4)]
        owner = users[0]
        cids = []
        for i in range(3):
            status, conv = server.http("POST", "/v1/conversations",
                                       {"kind": "group", "title": f"load {i}",
                                        "members": [u.id for u in users[1:]]}, token=owner.token)
            self.assertEqual(status, 200, conv)
            cids.append(conv["id"])
        plan = [(0, 0), (1, 0), (2, 0), (3, 1), (0, 1), (1, 2), (2, 2), (3, 2)]
        senders = [Sender(i, users[u], cids[c]) for i, (u, c) in enumerate(plan)]
        self.assertEqual(len(senders), SENDERS)

        # Load, then SIGKILL in the middle of it.
        stop = asyncio.Event()
        tasks = [asyncio.create_task(s.run(server, stop)) for s in senders]
        await asyncio.sleep(LOAD_SECONDS)
        server.kill()
        kill_time = time.monotonic()
        done, pending = await asyncio.wait(tasks, timeout=15)
        stop.set()
        self.assertFalse(pending, "senders did not notice the server dying")
        for t in done:
            t.result()
        for s in senders:
            self.assertEqual(s.errors, [], f"sender {s.index} got unexpected answers")
            self.assertGreaterEqual(len(s.acked), 5, f"sender {s.index} barely sent anything")
        acked = [(s, a) for s in senders for a in s.acked]
        total_acked = len(acked)
        self.assertGreater(total_acked, 100, "too little load to prove anything")

        # Restart on the same data directory. Tokens stay valid: the key survived too.
        server.restart()
        reader = await WsClient.connect(server, token=owner.token, keep_events=False)
        try:
            histories = {}
            for cid in cids:
                history, last_seq = await read_all(reader, cid)
                self.check_history(history, last_seq, cid)
                histories[cid] = {m["seq"]: m for m in history}

            # Every acknowledged message is there, at its seq, with its text, once.
            for s, (cid, seq, cmid, text) in acked:
                stored = histories[cid].get(seq)
                self.assertIsNotNone(stored, f"acknowledged {cmid} (seq {seq}) lost")
                self.assertEqual((stored["client_msg_id"], stored["text"], stored["sender_id"]),
                                 (cmid, text, s.user.id), f"seq {seq} holds something else")
            # Each sender's messages are in its send order, and anything stored that
            # was not acknowledged can only be the one send in flight at the kill.
            for s in senders:
                mine = [m for m in histories[s.cid].values()
                        if m["sender_id"] == s.user.id and m["client_msg_id"].startswith(f"s{s.index}-")]
                mine.sort(key=lambda m: m["seq"])
                numbers = [int(m["client_msg_id"].split("-")[1]) for m in mine]
                self.assertEqual(numbers, list(range(len(numbers))), f"sender {s.index}: order or gap")
                self.assertIn(len(numbers) - len(s.acked), (0, 1), f"sender {s.index}")
                if len(numbers) > len(s.acked):
                    self.assertIsNotNone(s.in_flight)
                    self.assertEqual(mine[-1]["client_msg_id"], s.in_flight[1])

            # Retry what was in flight, and a sample of what was acknowledged.
            before_dup = server.metrics()["natter_messages_duplicate_total"]
            rng = random.Random(1234)
            sample = rng.sample(acked, min(40, total_acked))
            clients = {}
            new_messages = {cid: 0 for cid in cids}
            duplicates = 0
            try:
                for s in senders:
                    clients[s.index] = await WsClient.connect(server, token=s.user.token, keep_events=False)
                for s in senders:
                    if s.in_flight is None:
                        continue
                    cid, cmid, text = s.in_flight
                    ack = await clients[s.index].call("messages.send", conversation_id=cid,
                                                      client_msg_id=cmid, text=text)
                    stored = [m for m in histories[cid].values()
                              if m["sender_id"] == s.user.id and m["client_msg_id"] == cmid]
                    if stored:
                        self.assertTrue(ack["duplicate"], ack)
                        self.assertEqual(ack["seq"], stored[0]["seq"])
                        duplicates += 1
                    else:
                        self.assertFalse(ack["duplicate"], ack)
                        new_messages[cid] += 1
                        self.assertEqual(ack["seq"], len(histories[cid]) + new_messages[cid])
                for s, (cid, seq, cmid, text) in sample:
                    ack = await clients[s.index].call("messages.send", conversation_id=cid,
                                                      client_msg_id=cmid, text=text)
                    self.assertEqual((ack["duplicate"], ack["seq"], ack["text"]), (True, seq, text), cmid)
                    duplicates += 1
            finally:
                for c in clients.values():
                    await c.close()
            self.assertEqual(server.metrics()["natter_messages_duplicate_total"] - before_dup, duplicates)

            # Still exactly once each, still dense.
            for cid in cids:
                history, last_seq = await read_all(reader, cid)
                self.check_history(history, last_seq, cid)
                self.assertEqual(len(history), len(histories[cid]) + new_messages[cid])
            listing = {c["id"]: c for c in (await reader.call("conversations.list"))["conversations"]}
            for cid in cids:
                self.assertEqual(listing[cid]["last_seq"], len(histories[cid]) + new_messages[cid])
        finally:
            await reader.close()
        self.assertEqual(server.stop(), 0)
        print(f"\n  {total_acked} acknowledged before SIGKILL "
              f"({sum(len(v) for v in histories.values())} stored), "
              f"{sum(1 for s in senders if s.in_flight)} in flight; "
              f"{time.monotonic() - started:.1f}s total, restart+checks {time.monotonic() - kill_time:.1f}s",
              file=sys.stderr)


if __name__ == "__main__":
    h.main()
