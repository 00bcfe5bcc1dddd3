"""Storage that fails under a running natterd: the data directory's file
system fills up. Writes are answered `unavailable` (503) with a generic
message (SQLite's words go to the log only), /readyz says not ready and why,
nothing is acknowledged that was not stored, and once space is back both
recover by themselves.

natterd runs in a mount namespace of its own (unshare -m) with its data
directory on a small tmpfs; the test fills and frees it from inside that
namespace (nsenter)."""

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import natter_harness as h  # noqa: E402


class StorageFaultTest(h.AsyncTestCase):
    timeout = 120

    def setUp(self):
        self.mnt = tempfile.mkdtemp(prefix="natter-full-")
        self.data = os.path.join(self.mnt, "data")
        env = dict(os.environ)
        self.proc = subprocess.Popen(
            ["unshare", "-m", "sh", "-c",
             f"mount -t tmpfs -o size=6m tmpfs {self.mnt} && exec {h._binary()} --data-dir {self.data} "
             f"--port 0 --password-profile minimal"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        self.log = b""
        deadline = time.monotonic() + 20
        self.port = None
        while time.monotonic() < deadline and self.port is None:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.log += line
            m = h.LISTEN_RE.search(line.decode("utf-8", "replace"))
            if m:
                self.port = int(m.group(1))
        self.assertIsNotNone(self.port, self.log.decode())
        # Keep reading its log: a full pipe would stall natterd.
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self):
        for line in self.proc.stdout:
            self.log += line

    def tearDown(self):
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.reader.join(5)
        self.proc.stdout.close()
        shutil.rmtree(self.mnt, ignore_errors=True)

    def in_namespace(self, *cmd):
        return subprocess.run(["nsenter", "-t", str(self.proc.pid), "-m", *cmd], capture_output=True, timeout=30)

    def http(self, method, path, body=None, token=None):
        return h.http_request(self.port, method, path, body, token=token)

    def readyz(self):
        return h.http_request(self.port, "GET", "/readyz")

    async def test_full_disk_answers_unavailable_and_recovers(self):
        for handle in ("fulla", "fullb"):
            status, body = self.http("POST", "/v1/auth/register", {"handle": handle, "password": "password-" + handle})
            self.assertEqual(status, 200, body)
        status, login = self.http("POST", "/v1/auth/login", {"handle": "fulla", "password": "password-fulla"})
        self.assertEqual(status, 200, login)
        token = login["access_token"]
        status, bob = self.http("GET", "/v1/users/fullb", token=token)
        status, conv = self.http("POST", "/v1/conversations", {"kind": "direct", "peer_id": bob["user_id"]}, token=token)
        self.assertEqual(status, 200, conv)
        cid = conv["id"]
        self.assertEqual(self.readyz()[0], 200)

        self.in_namespace("dd", "if=/dev/zero", f"of={self.mnt}/filler", "bs=64k", "count=1000")
        text = "x" * 16000
        acked, refusals = [], []
        for i in range(60):  # enough to outgrow the WAL's spare room
            status, body = self.http("POST", f"/v1/conversations/{cid}/messages",
                                     {"client_msg_id": f"m{i}", "text": text}, token=token)
            if status == 200:
                acked.append(body["seq"])
            else:
                refusals.append((status, body))
        self.assertTrue(refusals, "a full disk took every write")
        for status, body in refusals:
            self.assertEqual((status, h.error_of(body)[0]), (503, "unavailable"), body)
            message = h.error_of(body)[1].lower()
            for word in ("sqlite", "disk", "database", "natter.db"):
                self.assertNotIn(word, message, body)
        status, body = self.readyz()
        self.assertEqual(status, 503, body)
        self.assertIn("store:", body if isinstance(body, str) else str(body))

        self.in_namespace("rm", "-f", f"{self.mnt}/filler")
        status, body = self.http("POST", f"/v1/conversations/{cid}/messages",
                                 {"client_msg_id": "after", "text": "space again"}, token=token)
        self.assertEqual(status, 200, body)
        acked.append(body["seq"])
        self.assertEqual(self.readyz()[0], 200)
        self.assertIn(b"storage", self.log)  # the details went to the log
        # Everything acknowledged is there, and nothing else.
        status, page = self.http("GET", f"/v1/conversations/{cid}/messages?limit=100", token=token)
        self.assertEqual(status, 200, page)
        stored = sorted(m["seq"] for m in page["messages"] if m["kind"] == "message")
        self.assertEqual(stored, sorted(acked))


class DeletedDatabaseTest(h.AsyncTestCase):
    """The database files are deleted while natterd runs (an operator's slip, a
    cleanup job): SQLite goes on writing into the unlinked files, so natterd
    must notice (the file's link is gone) and stop acknowledging writes, say so
    in /readyz and its log, and refuse to start afresh over signing keys
    without a database unless told to."""
    timeout = 90

    def setUp(self):
        self.server = h.Natterd(name="deleted-db").start()

    def tearDown(self):
        self.server.close()

    def send(self, token, cid, i):
        return self.server.http("POST", f"/v1/conversations/{cid}/messages",
                                {"client_msg_id": f"d{i}", "text": f"message {i}"}, token=token)

    async def test_deleted_database_stops_writes_and_blocks_a_fresh_start(self):
        a, b = self.server.new_user("del"), self.server.new_user("del")
        status, conv = self.server.http("POST", "/v1/conversations", {"kind": "direct", "peer_id": b.id},
                                        token=a.token)
        self.assertEqual(status, 200, conv)
        for i in range(3):
            self.assertEqual(self.send(a.token, conv["id"], i)[0], 200)
        data = os.path.join(self.server.data_dir, "data")
        for suffix in ("", "-wal", "-shm"):
            os.unlink(os.path.join(data, "natter.db" + suffix))
        # From the first write after the deletion, nothing is acknowledged.
        for i in range(3, 8):
            status, body = self.send(a.token, conv["id"], i)
            self.assertEqual((status, h.error_of(body)[0]), (503, "unavailable"), body)
        status, text = self.server.text("/readyz")
        self.assertEqual(status, 503, text)
        self.assertIn("store: storage unavailable: the database file was deleted or replaced", text)
        self.assertIn("was deleted or replaced while open", self.server.log_text())
        self.assertEqual(self.server.stop(), 0)
        # Keys without a database: refused, with what to do.
        with self.assertRaises(RuntimeError) as refused:
            self.server.start()
        self.assertIn("holds signing keys but no natter.db", str(refused.exception))
        self.assertIn("--create-database", str(refused.exception))
        self.assertFalse(os.path.exists(os.path.join(data, "natter.db")))
        # The operator chooses to start empty.
        self.server.args.append("--create-database")
        self.server.start()
        self.assertEqual(self.server.text("/readyz")[0], 200)
        status, _ = self.server.login(a.handle, a.password)
        self.assertEqual(status, 401)  # the accounts went with the database

    async def test_readyz_notices_a_deleted_database_without_writes(self):
        data = os.path.join(self.server.data_dir, "data")
        self.assertEqual(self.server.text("/readyz")[0], 200)
        os.unlink(os.path.join(data, "natter.db"))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and self.server.text("/readyz")[0] == 200:
            time.sleep(0.1)
        status, text = self.server.text("/readyz")
        self.assertEqual(status, 503, text)
        self.assertIn("deleted or replaced", text)


if __name__ == "__main__":
    h.main()
