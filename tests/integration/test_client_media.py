"""Attachments through libnatter and the natter CLI: a file sent while the
server is down waits in the outbox; the client is killed halfway through the
upload; started again it resumes where the server stands, and the message
arrives once with its attachment, byte for byte. Also: a photo with the
object store backend (parts PUT straight to the bucket), progress events,
and an upload that expired while the client was away. These run the
natter CLI (also under the sanitizers); test_client_media_capi.py drives the
C API."""
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import urllib.request

import natter_harness as h
import s3_standin
from client_harness import CLI, CApiClient, Profiles, Server
import tus_client as tus


class ClientMediaTest(Profiles, h.unittest.TestCase):
    server_args = ()
    cli_timeout = "20"  # a sync waits for uploads

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="natter-client-media-")
        self.s3 = None
        self.server = Server(os.path.join(self.dir, "server"), *self.natterd_args()).start()
        self.to_close = []

    def natterd_args(self):
        return self.server_args

    def tearDown(self):
        for c in self.to_close:
            c.close()
        self.server.stop()
        if self.s3:
            self.s3.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def bob_messages(self, conv):
        self.cli("bob", "sync")
        history = self.cli_json("bob", "history", str(conv), "--limit", "100")["messages"]
        return [m for m in history if m["kind"] == "message"]

    def http(self, method, path, body=None, token=None):
        req = urllib.request.Request(self.server.url + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers=dict({"Content-Type": "application/json"},
                                                  **({"Authorization": "Bearer " + token} if token else {})))
        with urllib.request.urlopen(req, timeout=30) as res:
            return json.loads(res.read())

    def bob_token(self):
        return self.http("POST", "/v1/auth/login", {"handle": "bob", "password": "password-bob"})["access_token"]

    def fetch_attachment(self, conv, seq, media_id, token, variant="main"):
        grant = self.http("GET", f"/v1/conversations/{conv}/messages/{seq}/media/{media_id}?variant={variant}",
                          token=token)
        url = grant["url"] if grant["url"].startswith("http") else self.server.url + grant["url"]
        with urllib.request.urlopen(url, timeout=30) as res:
            return res.read()

    def file(self, name, data):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def kill_mid_upload(self, size):
        """Runs `natter sync` with small chunks and kills it once the server
        holds part of an upload: (upload id, bytes it holds)."""
        uploads = os.path.join(self.server.data_dir, "media", "uploads")
        sync = subprocess.Popen([CLI, "--server", self.server.url, "--profile", os.path.join(self.dir, "alice"),
                                 "--timeout", "30", "--upload-chunk-bytes", "16384", "sync"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        partial = None
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and partial is None:
                for name in os.listdir(uploads) if os.path.isdir(uploads) else []:
                    held = os.path.getsize(os.path.join(uploads, name))
                    if 0 < held < size // 2:
                        partial = (int(name), held)
                time.sleep(0.005)
        finally:
            sync.send_signal(signal.SIGKILL)  # halfway: no chance to finish or tidy up
            sync.wait(10)
        self.assertIsNotNone(partial, "the upload was never seen halfway")
        return partial


class LocalUploads(ClientMediaTest):
    def test_sent_offline_killed_mid_upload_and_restarted_arrives_once(self):
        conv = self.two_profiles()
        data = os.urandom(6 * 1024 * 1024 + 777)
        path = self.file("report.bin", data)
        self.server.kill()  # offline: the send waits in the outbox with its file
        out = self.cli("alice", "send", str(conv), "the report", "--file", path, check=False, wait="1")
        self.assertIn("pending", out.stdout + out.stderr)
        self.server.start()
        partial = self.kill_mid_upload(len(data))
        self.assertEqual(self.bob_messages(conv), [])
        self.cli("alice", "sync")
        self.cli("alice", "sync")  # a second run must not send it again
        messages = self.bob_messages(conv)
        self.assertEqual([m["text"] for m in messages], ["the report"])
        attachment = messages[0]["attachments"][0]
        # The same upload, resumed where the server stood, not started again.
        self.assertEqual(attachment["id"], partial[0])
        self.assertEqual((attachment["size"], attachment["filename"]), (len(data), "report.bin"))
        fetched = self.fetch_attachment(conv, messages[0]["seq"], attachment["id"], self.bob_token())
        self.assertEqual(hashlib.sha256(fetched).hexdigest(), hashlib.sha256(data).hexdigest())


class Videos(ClientMediaTest):
    def test_a_video_goes_with_the_poster_frame_the_app_made(self):
        conv = self.two_profiles()
        movie = tus.mp4(duration_ms=3000, width=320, height=240, payload=200_000)
        video, poster = self.file("clip.mp4", movie), self.file("poster.jpg", tus.jpeg_with_location(400, 260))
        self.server.kill()  # both wait in the outbox
        self.cli("alice", "send", str(conv), "--file", video, "--thumb", poster, check=False, wait="1")
        self.server.start()
        self.cli("alice", "sync")
        messages = self.bob_messages(conv)
        self.assertEqual(len(messages), 1)
        attachments = messages[0]["attachments"]
        self.assertEqual(len(attachments), 1, attachments)  # the poster is the video's, not an attachment
        a = attachments[0]
        self.assertEqual((a["kind"], a["filename"], a["duration_ms"], sorted(a["variants"])),
                         ("video", "clip.mp4", 3000, ["main", "poster", "thumb"]))
        token = self.bob_token()
        self.assertEqual(self.fetch_attachment(conv, messages[0]["seq"], a["id"], token), movie)
        size, exif, kind = tus.exif_of(self.fetch_attachment(conv, messages[0]["seq"], a["id"], token, "thumb"))
        self.assertEqual(kind, "JPEG")
        self.assertNotIn(0x8825, exif)
        # A thumb is an image, for a video: refused before anything is queued.
        out = self.cli("alice", "send", str(conv), "--file", poster, "--thumb", video, check=False)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("a thumb is an image for a video", out.stdout + out.stderr)
        self.cli("alice", "sync")
        self.assertEqual(len(self.bob_messages(conv)), 1)


class ExpiredUploads(ClientMediaTest):
    server_args = ("--media-upload-expiry-ms", "2000", "--media-sweep-ms", "100")

    def test_an_upload_that_expired_while_away_starts_again(self):
        conv = self.two_profiles()
        data = os.urandom(3 * 1024 * 1024)
        path = self.file("late.bin", data)
        self.server.kill()
        self.cli("alice", "send", str(conv), "late", "--file", path, check=False, wait="1")
        self.server.start()
        partial = self.kill_mid_upload(len(data))
        # Away longer than the upload lives: the server forgets it.
        uploads = os.path.join(self.server.data_dir, "media", "uploads", str(partial[0]))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and os.path.exists(uploads):
            time.sleep(0.1)
        self.assertFalse(os.path.exists(uploads))
        self.cli("alice", "sync")
        messages = self.bob_messages(conv)
        self.assertEqual([m["text"] for m in messages], ["late"])
        attachment = messages[0]["attachments"][0]
        self.assertNotEqual(attachment["id"], partial[0])  # a new upload
        self.assertEqual(attachment["size"], len(data))


    def test_an_upload_that_expired_after_it_was_ready_goes_up_again(self):
        conv = self.two_profiles()
        data = os.urandom(100_000)
        path = self.file("stale.bin", data)
        token = self.http("POST", "/v1/auth/login", {"handle": "alice", "password": "password-alice"})["access_token"]
        location, status, body = tus.upload(self.server.port, token, data, "application/octet-stream", "stale.bin")
        self.assertEqual(status, 204, body)
        stale = int(location.rsplit("/", 1)[1])
        # The outbox as the app left it: the file up and ready, the message not
        # yet sent, and then the phone away longer than the upload lives.
        db = sqlite3.connect(os.path.join(self.dir, "alice", "natter-client.db"))
        with db:
            db.execute("INSERT INTO outbox(client_msg_id, conversation_id, text, reply_to, state, created) "
                       "VALUES('stale-1', ?, 'after a while', NULL, 'pending', 1)", (conv,))
            db.execute("INSERT INTO outbox_files(client_msg_id, idx, path, mime, filename, caption, size, media_id, "
                       "upload_url, ready) VALUES('stale-1', 0, ?, 'application/octet-stream', 'stale.bin', '', ?, ?, "
                       "?, 1)", (path, len(data), stale, location))
        db.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and tus.offset(self.server.port, token, location)[0] != 404:
            time.sleep(0.1)
        self.assertEqual(tus.offset(self.server.port, token, location)[0], 404)
        self.cli("alice", "sync")
        messages = self.bob_messages(conv)
        self.assertEqual([m["text"] for m in messages], ["after a while"])
        attachment = messages[0]["attachments"][0]
        self.assertNotEqual(attachment["id"], stale)  # uploaded again
        fetched = self.fetch_attachment(conv, messages[0]["seq"], attachment["id"], self.bob_token())
        self.assertEqual(fetched, data)


class ObjectStoreUploads(ClientMediaTest):
    def natterd_args(self):
        self.s3 = s3_standin.S3Standin()
        return tuple(self.s3.natterd_args(path_style=True))

    def test_a_file_goes_to_the_bucket_in_parts_and_resumes_after_a_kill(self):
        conv = self.two_profiles()
        data = os.urandom(17 * 1024 * 1024)
        path = self.file("video.bin", data)
        sync = subprocess.Popen([CLI, "--server", self.server.url, "--profile", os.path.join(self.dir, "alice"),
                                 "--timeout", "30", "send", str(conv), "three parts", "--file", path],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started = None
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and started is None:
                for u in list(self.s3.uploads.values()):
                    # The second part arriving means the first's ETag is kept.
                    if len(u["parts"]) >= 2:
                        started = int(u["key"].rsplit("/", 1)[1])
                time.sleep(0.002)
        finally:
            sync.send_signal(signal.SIGKILL)
            sync.wait(10)
        self.assertIsNotNone(started, "the upload was never seen halfway")
        self.cli("alice", "sync")
        messages = self.bob_messages(conv)
        self.assertEqual([m["text"] for m in messages], ["three parts"])
        attachment = messages[0]["attachments"][0]
        self.assertEqual(attachment["id"], started)  # resumed, not started again
        fetched = self.fetch_attachment(conv, messages[0]["seq"], attachment["id"], self.bob_token())
        self.assertEqual(hashlib.sha256(fetched).hexdigest(), hashlib.sha256(data).hexdigest())
        puts = [r for r in self.s3.requests if r[0] == "PUT" and r[1].startswith("uploads/")]
        self.assertTrue(all(r[3] == "presigned" for r in puts))
        self.assertLessEqual(len(puts), 4)  # three parts, the one under way at the kill perhaps twice


if __name__ == "__main__":
    h.main()
