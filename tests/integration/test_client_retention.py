"""libnatter's local store stays under its retention bound on a long-running
profile: messages from a peer arrive live, the profile sends its own, and the
store keeps only the newest of each conversation, while older history is
still fetched from the server when the app scrolls back to it."""

import os
import shutil
import sqlite3
import tempfile
import time
import types

import natter_harness as h
from client_harness import CApiClient

KEEP = 50
SLACK = 10  # compaction runs every max(KEEP / 10, 10) entries of a conversation


class RetentionTest(h.ServerTestCase):
    server_args = ("--requests-per-second", "2000", "--request-burst", "2000")
    timeout = 120

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="natter-retention-")
        self.client = None

    def tearDown(self):
        if self.client:
            self.client.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def stored(self, conv):
        db = sqlite3.connect(f"file:{os.path.join(self.dir, 'natter-client.db')}?mode=ro", uri=True)
        try:
            entries = db.execute("SELECT count(*), min(seq), max(seq) FROM entries WHERE conversation_id = ?",
                                 (conv,)).fetchone()
            sent = db.execute("SELECT count(*) FROM outbox WHERE state = 'sent'").fetchone()[0]
            return entries, sent
        finally:
            db.close()

    def test_a_long_running_profile_stays_under_its_bound_and_history_stays_fetchable(self):
        alice, bob = self.server.new_user("reta"), self.server.new_user("retb")
        status, conv = self.server.http("POST", "/v1/conversations", {"kind": "direct", "peer_id": bob.id},
                                        token=alice.token)
        self.assertEqual(status, 200, conv)
        cid = conv["id"]
        server = types.SimpleNamespace(url=f"http://127.0.0.1:{self.server.port}")
        self.client = client = CApiClient(server, self.dir, keep_messages=KEEP)
        self.assertEqual(client.call({"@type": "login", "handle": bob.handle, "password": bob.password})["@type"],
                         "result")
        client.wait(lambda e: e["@type"] == "sync_done", what="sync_done")

        def alice_sends(first, count):
            for i in range(first, first + count):
                status, body = self.server.http("POST", f"/v1/conversations/{cid}/messages",
                                                {"client_msg_id": f"a{i}", "text": f"a{i}"}, token=alice.token)
                self.assertEqual(status, 200, body)
                if i % 2 == 0:  # and bob answers every other one: more than KEEP of his own
                    client.send_raw('{"@type":"send_message","conversation_id":%d,"text":"b%d"}' % (cid, i))
            last = f"a{first + count - 1}"
            client.wait(lambda e: e["@type"] == "new_entry" and e["entry"].get("text") == last, 30, last)
            for _ in range(300):
                if client.call({"@type": "get_state"})["pending"] == 0:
                    break
                time.sleep(0.1)
            self.assertEqual(client.call({"@type": "get_state"})["pending"], 0, "the outbox did not drain")

        alice_sends(0, 300)
        (count, oldest, newest), sent = self.stored(cid)
        self.assertGreaterEqual(newest, 330)
        self.assertLessEqual(count, KEEP + SLACK)
        self.assertGreaterEqual(count, KEEP)
        self.assertLessEqual(sent, KEEP + SLACK)
        self.assertEqual(newest - oldest + 1, count)  # the newest, with no holes

        # Scrolling back past what is kept: the page comes from the server.
        page = client.call({"@type": "get_history", "conversation_id": cid, "before": oldest, "limit": 20})
        seqs = [m["seq"] for m in page["messages"]]
        self.assertEqual(seqs, list(range(oldest - 20, oldest)), page)
        self.assertTrue(all("text" in m for m in page["messages"]))

        # What the app scrolled back to goes again as new messages come.
        alice_sends(300, 100)
        (count, oldest, newest), sent = self.stored(cid)
        self.assertLessEqual(count, KEEP + SLACK)
        self.assertGreater(oldest, 330)


if __name__ == "__main__":
    h.main()
