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


if __name__ == "__main__":
    h.main()
