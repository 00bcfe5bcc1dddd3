"""Attachments with the S3 backend, against a local S3 stand-in that checks
every request's Signature Version 4 (s3_standin.py): clients put the parts
of a multipart upload straight into the bucket with presigned URLs and fetch
attachments with presigned GETs; natterd signs, checks, processes and
records. Also: who may download, lying types, resumed uploads, refused part
lists, tampered, oversized and expired URLs, abandoned uploads aborted, and
virtual-host style addressing."""
import hashlib
import http.client
import os
import threading
import time
import urllib.parse

import natter_harness as h
import s3_standin
import tus_client as tus


def fetch(url, method="GET", body=None, headers=None):
    """A request to a presigned URL, connecting to loopback whatever the
    host name (virtual-host style names the bucket in it)."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=30)
    try:
        all_headers = {"Host": parts.netloc}
        all_headers.update(headers or {})
        conn.request(method, parts.path + ("?" + parts.query if parts.query else ""), body=body, headers=all_headers)
        res = conn.getresponse()
        return res.status, {k.lower(): v for k, v in res.getheaders()}, res.read()
    finally:
        conn.close()


class S3TestCase(h.ServerTestCase):
    timeout = 120
    path_style = True
    extra_args = ()

    @classmethod
    def setUpClass(cls):
        cls.s3 = s3_standin.S3Standin()
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.s3.close()

    @classmethod
    def natterd_args(cls):
        return tuple(cls.s3.natterd_args(cls.path_style)) + tuple(cls.extra_args)

    def call(self, method, path, body=None, user=None, expect=200):
        # A completion processes a photo first: seconds under the sanitizers.
        status, answer = self.server.http(method, path, body, token=user.token if user else None, timeout=120)
        self.assertEqual(status, expect, answer)
        return answer

    def create(self, user, data_or_size, mime, filename="file.bin", expect=200):
        size = data_or_size if isinstance(data_or_size, int) else len(data_or_size)
        return self.call("POST", "/v1/media/uploads", {"size": size, "mime": mime, "filename": filename}, user, expect)

    def put_part(self, target, number, data):
        part = target["parts"][number - 1]
        status, hdrs, body = fetch(part["url"], "PUT", data)
        self.assertEqual(status, 200, body)
        return {"part": number, "etag": hdrs["etag"]}

    def upload(self, user, data, mime, filename="file.bin"):
        target = self.create(user, data, mime, filename)
        self.assertEqual(target["transport"], "s3")
        parts = []
        for p in target["parts"]:
            start = (p["part"] - 1) * target["part_size"]
            parts.append(self.put_part(target, p["part"], data[start:start + p["size"]]))
        done = self.call("POST", f"/v1/media/uploads/{target['media_id']}/complete", {"parts": parts}, user)
        return target["media_id"], done["attachment"]

    def group(self, owner, *members):
        return self.call("POST", "/v1/conversations",
                         {"kind": "group", "title": "s3", "members": [m.id for m in members]}, owner)["id"]

    def send(self, user, cid, media_id):
        return self.call("POST", f"/v1/conversations/{cid}/messages",
                         {"client_msg_id": os.urandom(8).hex(), "attachments": [{"id": media_id}]}, user)

    def url(self, user, cid, seq, media_id, variant="main", expect=200):
        return self.call("GET", f"/v1/conversations/{cid}/messages/{seq}/media/{media_id}?variant={variant}",
                         None, user, expect)


class DirectUploads(S3TestCase):
    def test_photo_goes_to_the_bucket_and_members_fetch_it_without_its_location(self):
        alice, bob, carol = (self.server.new_user("s3p") for _ in range(3))
        photo = tus.jpeg_with_location(300, 200)
        media_id, attachment = self.upload(alice, photo, "image/jpeg", "beach.jpg")
        self.assertEqual((attachment["kind"], attachment["width"], attachment["height"]), ("image", 200, 300))
        self.assertTrue(attachment["blurhash"])
        # The photo's bytes went from the client to the bucket: the part PUT
        # was presigned, natterd stored no original of its own (a display
        # version and a thumbnail), and the upload's object is gone.
        part_puts = [r for r in self.s3.requests if r[0] == "PUT" and r[1] == f"uploads/{media_id}"]
        self.assertEqual([r[3] for r in part_puts], ["presigned"])
        self.assertEqual(self.s3.keys("uploads/"), [])
        self.assertGreaterEqual(len(self.s3.keys("blobs/")), 2)

        cid = self.group(alice, bob)
        seq = self.send(alice, cid, media_id)["seq"]
        for variant in ("main", "thumb"):
            grant = self.url(bob, cid, seq, media_id, variant)
            self.assertTrue(grant["url"].startswith(self.s3.endpoint + "/"), grant["url"])
            status, hdrs, body = fetch(grant["url"])
            self.assertEqual(status, 200, body)
            self.assertEqual(hdrs["content-type"], "image/jpeg")
            self.assertEqual(hdrs["content-disposition"],
                             "inline; filename*=UTF-8''beach.jpg" if variant == "main" else "inline")
            size, exif, fmt = tus.exif_of(body)
            self.assertEqual(fmt, "JPEG")
            self.assertLess(size[0], size[1])  # upright
            self.assertNotIn(0x8825, exif)  # no GPS
            self.assertNotIn(0x0110, exif)  # no camera model
        status, hdrs, body = fetch(grant["url"], headers={"Range": "bytes=0-9"})
        self.assertEqual((status, len(body)), (206, 10))
        # A tampered URL is refused by the store: a longer life, another type.
        status, _, body = fetch(grant["url"].replace("X-Amz-Expires=", "X-Amz-Expires=1"))
        self.assertEqual(status, 403, body)
        status, _, body = fetch(grant["url"].replace("image%2Fjpeg", "text%2Fhtml"))
        self.assertEqual(status, 403, body)
        self.assertEqual(self.s3.refusals[-2:], ["SignatureDoesNotMatch"] * 2)
        # Not a member: no URL. Removed: no more URLs.
        self.url(carol, cid, seq, media_id, expect=404)
        self.call("DELETE", f"/v1/conversations/{cid}/members/{bob.id}", None, alice)
        self.url(bob, cid, seq, media_id, expect=404)

    def test_a_large_file_in_parts_resumed_with_fresh_urls(self):
        alice, bob = self.server.new_user("s3m"), self.server.new_user("s3m")
        data = os.urandom(12 * 1024 * 1024 + 12345)
        target = self.create(alice, data, "application/octet-stream", "big.bin")
        self.assertEqual([p["size"] for p in target["parts"]], [8 << 20, len(data) - (8 << 20)])
        first = self.put_part(target, 1, data[:8 << 20])
        # The phone went away; back, it asks for fresh URLs and goes on.
        info = self.call("GET", f"/v1/uploads/{target['media_id']}", None, alice)
        self.assertEqual(info["state"], "uploading")
        fresh = self.call("GET", f"/v1/media/uploads/{target['media_id']}/parts", None, alice)
        self.assertEqual(fresh["media_id"], target["media_id"])
        second = self.put_part(fresh, 2, data[8 << 20:])
        path = f"/v1/media/uploads/{target['media_id']}/complete"
        # Parts the store will not join leave the upload as it was.
        wrong = {"part": 2, "etag": '"' + "0" * 32 + '"'}
        self.call("POST", path, {"parts": [first, wrong]}, alice, expect=400)
        self.call("POST", path, {"parts": [second, first]}, alice, expect=400)
        self.call("POST", path, {"parts": [first]}, bob, expect=404)
        self.assertEqual(self.call("GET", f"/v1/uploads/{target['media_id']}", None, alice)["state"], "uploading")
        attachment = self.call("POST", path, {"parts": [first, second]}, alice)["attachment"]
        self.assertEqual((attachment["kind"], attachment["size"]), ("file", len(data)))
        # Finished: no more part URLs, no second completion.
        self.call("GET", f"/v1/media/uploads/{target['media_id']}/parts", None, alice, expect=409)
        self.call("POST", path, {"parts": [first, second]}, alice, expect=409)
        cid = self.group(alice, bob)
        seq = self.send(alice, cid, target["media_id"])["seq"]
        status, hdrs, body = fetch(self.url(bob, cid, seq, target["media_id"])["url"])
        self.assertEqual(status, 200)
        self.assertEqual(hashlib.sha256(body).hexdigest(), hashlib.sha256(data).hexdigest())
        # Not recognised media: a download, never shown inline.
        self.assertEqual(hdrs["content-type"], "application/octet-stream")
        self.assertTrue(hdrs["content-disposition"].startswith("attachment"))

    def test_a_part_url_takes_only_its_own_bytes(self):
        alice = self.server.new_user("s3u")
        target = self.create(alice, 1000, "application/octet-stream")
        url = target["parts"][0]["url"]
        # More bytes than the URL was signed for, or another part number: the
        # store refuses the signature.
        self.assertEqual(fetch(url, "PUT", os.urandom(1001))[0], 403)
        self.assertEqual(fetch(url.replace("partNumber=1", "partNumber=2"), "PUT", os.urandom(1000))[0], 403)
        self.assertIn("SignatureDoesNotMatch", self.s3.refusals)
        self.assertEqual(fetch(url, "PUT", os.urandom(1000))[0], 200)

    def test_a_store_failure_keeps_the_upload_for_another_try(self):
        alice = self.server.new_user("s3f")
        data = os.urandom(20000)
        target = self.create(alice, data, "application/octet-stream", "keep.bin")
        part = self.put_part(target, 1, data)
        path = f"/v1/media/uploads/{target['media_id']}/complete"
        # The store refuses natterd's copy of the original (credentials
        # revoked, say): unavailable, and nothing lost.
        self.s3.faults[("PUT", "blobs/")] = (403, "AccessDenied")
        status, answer = self.server.http("POST", path, {"parts": [part]}, token=alice.token)
        self.assertEqual(status, 503, answer)
        self.assertNotIn("AccessDenied", str(answer))
        self.assertEqual(self.call("GET", f"/v1/uploads/{target['media_id']}", None, alice)["state"], "uploading")
        attachment = self.call("POST", path, {"parts": [part]}, alice)["attachment"]
        self.assertEqual(attachment["size"], len(data))

    def test_a_part_list_without_every_part_changes_nothing(self):
        alice = self.server.new_user("s3s")
        data = os.urandom(8 * 1024 * 1024 + 100)
        target = self.create(alice, data, "application/octet-stream")
        first = self.put_part(target, 1, data[:8 << 20])
        path = f"/v1/media/uploads/{target['media_id']}/complete"
        self.call("POST", path, {"parts": [first]}, alice, expect=400)
        second = self.put_part(target, 2, data[8 << 20:])
        self.assertEqual(self.call("POST", path, {"parts": [first, second]}, alice)["attachment"]["size"], len(data))

    def test_bytes_that_contradict_their_type_are_refused_and_removed(self):
        alice = self.server.new_user("s3l")
        data = b"not a picture at all\n" * 50
        target = self.create(alice, data, "image/png", "x.png")
        part = self.put_part(target, 1, data)
        path = f"/v1/media/uploads/{target['media_id']}/complete"
        self.call("POST", path, {"parts": [part]}, alice, expect=400)
        self.call("GET", f"/v1/uploads/{target['media_id']}", None, alice, expect=404)
        self.assertNotIn(f"uploads/{target['media_id']}", self.s3.keys("uploads/"))

    def test_limits_and_bad_requests(self):
        alice = self.server.new_user("s3b")
        self.create(alice, 1 << 40, "video/mp4", expect=413)
        self.create(alice, 0, "image/jpeg", expect=400)
        self.call("POST", "/v1/media/uploads", {"size": 10, "filename": "a\nb"}, alice, expect=400)
        target = self.create(alice, 10, "text/plain")
        path = f"/v1/media/uploads/{target['media_id']}/complete"
        self.call("POST", path, {"parts": []}, alice, expect=400)
        self.call("POST", path, {"parts": [{"part": 2, "etag": '"abc"'}]}, alice, expect=400)
        # The bytes never arrived: the store has no such part, nothing changes.
        self.call("POST", path, {"parts": [{"part": 1, "etag": '"abc"'}]}, alice, expect=400)
        self.assertEqual(self.s3.refusals[-1], "InvalidPart")
        self.put_part(target, 1, b"0123456789")
        # An ETag is text in the store's XML, never markup: the store finds
        # the XML well formed and the part's ETag wrong.
        self.call("POST", path, {"parts": [{"part": 1, "etag": "a</ETag></Part><Part><x>"}]}, alice, expect=400)
        self.assertEqual(self.s3.refusals[-1], "InvalidPart")
        # Spaces and control characters are no ETag: refused before the store.
        refusals = len(self.s3.refusals)
        self.call("POST", path, {"parts": [{"part": 1, "etag": "a b"}]}, alice, expect=400)
        self.call("POST", path, {"parts": [{"part": 1, "etag": "a\r\nb"}]}, alice, expect=400)
        self.assertEqual(len(self.s3.refusals), refusals)
        self.assertEqual(self.call("GET", f"/v1/uploads/{target['media_id']}", None, alice)["state"], "uploading")
        # tus goes to natterd; with the S3 backend the bytes do not.
        status, _, body = tus.create(self.server.port, alice.token, 10, "text/plain")
        self.assertEqual(status, 400)
        self.assertIn(b"media.create", body)


class VirtualHostAndExpiry(S3TestCase):
    path_style = False
    extra_args = ("--media-url-ttl-seconds", "1", "--media-upload-expiry-ms", "3000", "--media-sweep-ms", "200",
                  "--media-delete-grace-ms", "500")

    def test_deleting_the_message_deletes_its_objects_in_the_bucket(self):
        alice, bob = self.server.new_user("s3d"), self.server.new_user("s3d")
        before = set(self.s3.keys("blobs/"))
        media_id, _ = self.upload(alice, tus.jpeg_with_location(400, 260), "image/jpeg", "gone.jpg")
        objects = set(self.s3.keys("blobs/")) - before
        self.assertEqual(len(objects), 2)  # display version and thumbnail
        cid = self.group(alice, bob)
        seq = self.send(alice, cid, media_id)["seq"]
        self.call("DELETE", f"/v1/conversations/{cid}/messages/{seq}", None, alice)
        deadline = time.time() + 15
        while time.time() < deadline and objects & set(self.s3.keys("blobs/")):
            time.sleep(0.1)
        self.assertEqual(objects & set(self.s3.keys("blobs/")), set())
        deletes = [r for r in self.s3.requests if r[0] == "DELETE" and r[1] in objects]
        self.assertEqual(len(deletes), 2)
        self.call("GET", f"/v1/uploads/{media_id}", None, alice, expect=404)

    def test_virtual_host_style_round_trip_and_urls_that_expire(self):
        alice, bob = self.server.new_user("s3v"), self.server.new_user("s3v")
        data = b"%PDF-1.4\n" + os.urandom(5000)
        media_id, attachment = self.upload(alice, data, "application/pdf", "doc.pdf")
        self.assertEqual(attachment["mime"], "application/pdf")
        cid = self.group(alice, bob)
        seq = self.send(alice, cid, media_id)["seq"]
        grant = self.url(bob, cid, seq, media_id)
        self.assertTrue(grant["url"].startswith(f"http://{s3_standin.BUCKET}.localhost:{self.s3.port}/blobs/"))
        status, hdrs, body = fetch(grant["url"])
        self.assertEqual((status, body), (200, data))
        time.sleep(2.2)
        status, _, body = fetch(grant["url"])
        self.assertEqual(status, 403)
        self.assertIn(b"Request has expired", body)

    def test_an_abandoned_upload_is_aborted_in_the_store(self):
        alice = self.server.new_user("s3x")
        target = self.create(alice, 6000, "application/octet-stream")
        self.put_part(target, 1, os.urandom(6000))
        self.assertEqual(len(self.s3.uploads), 1)
        deadline = time.time() + 20
        while time.time() < deadline and self.s3.uploads:
            time.sleep(0.1)
        self.assertEqual(self.s3.uploads, {})
        self.call("GET", f"/v1/uploads/{target['media_id']}", None, alice, expect=404)


class StoreThatNeverAnswers(S3TestCase):
    extra_args = ("--s3-timeout-ms", "8000")

    def tearDown(self):
        self.s3.unstall()
        super().tearDown()

    def in_background(self, fn):
        result = {}
        thread = threading.Thread(target=lambda: result.update(answer=fn()), daemon=True)
        thread.start()
        return thread, result

    def test_a_hung_store_makes_uploads_unavailable_and_chat_goes_on(self):
        alice, bob = self.server.new_user("s3h"), self.server.new_user("s3h")
        cid = self.group(alice, bob)
        self.s3.stall("POST", "uploads/")  # starting a multipart upload hangs
        stalled = self.s3.stalled
        started = time.monotonic()
        create, answer = self.in_background(lambda: self.server.http(
            "POST", "/v1/media/uploads", {"size": 1000, "mime": "application/octet-stream"}, token=alice.token,
            timeout=120))
        while self.s3.stalled == stalled and time.monotonic() - started < 20:
            time.sleep(0.01)
        self.assertEqual(self.s3.stalled, stalled + 1)
        # The store holds natterd's call; chat does not wait for it.
        sent = self.call("POST", f"/v1/conversations/{cid}/messages",
                         {"client_msg_id": "while-hung", "text": "still here"}, alice)
        self.assertTrue(create.is_alive(), "the upload was answered before the store gave up")
        create.join(60)
        status, body = answer["answer"]
        self.assertEqual(status, 503, body)
        # The timeout decided, not the store (which holds calls for 30 s).
        self.assertGreaterEqual(time.monotonic() - started, 8)
        self.assertLess(time.monotonic() - started, 25)
        self.assertEqual(self.call("GET", f"/v1/conversations/{cid}/messages", None, bob)["messages"][-1]["seq"],
                         sent["seq"])
        # The store answers again: uploads go through.
        self.s3.unstall()
        data = os.urandom(1000)
        media_id, attachment = self.upload(alice, data, "application/octet-stream")
        self.assertEqual(attachment["size"], len(data))

    def test_a_store_that_hangs_while_natterd_fetches_an_upload_keeps_it(self):
        alice = self.server.new_user("s3g")
        data = os.urandom(20000)
        target = self.create(alice, data, "application/octet-stream", "hang.bin")
        part = self.put_part(target, 1, data)
        path = f"/v1/media/uploads/{target['media_id']}/complete"
        self.s3.stall("GET", "uploads/")  # natterd's one read of the joined upload hangs
        stalled = self.s3.stalled
        started = time.monotonic()
        status, answer = self.server.http("POST", path, {"parts": [part]}, token=alice.token, timeout=120)
        self.assertEqual(status, 503, answer)
        self.assertLess(time.monotonic() - started, 25)  # natterd gave up on the silence, not the store
        self.assertEqual(self.s3.stalled, stalled + 1)
        self.assertEqual(self.call("GET", f"/v1/uploads/{target['media_id']}", None, alice)["state"], "uploading")
        self.s3.unstall()
        attachment = self.call("POST", path, {"parts": [part]}, alice)["attachment"]
        self.assertEqual(attachment["size"], len(data))
        metrics = self.server.metrics()
        self.assertGreaterEqual(metrics['natter_media_uploads_total{result="failed"}'], 1)


if __name__ == "__main__":
    h.main()
