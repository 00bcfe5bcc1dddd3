"""Attachments end to end on the embedded store: tus uploads (cut, resumed,
across a restart), what natterd makes of a photo (upright, no location left),
bombs and lying types refused, attachments on messages, and who may
download them."""
import hashlib
import os
import time
import urllib.parse

import natter_harness as h
import tus_client as tus


class MediaTestCase(h.ServerTestCase):
    timeout = 120

    def call(self, method, path, body=None, user=None, expect=200):
        """The answer; with expect=None, whether the status was 200."""
        status, answer = self.server.http(method, path, body, token=user.token if user else None)
        if expect is None:
            return status == 200
        self.assertEqual(status, expect, answer)
        return answer

    def objects(self):
        blobs = os.path.join(self.server.data_dir, "data", "media", "blobs")
        return sorted(f for _, _, files in os.walk(blobs) for f in files)

    def group(self, owner, *members):
        return self.call("POST", "/v1/conversations",
                         {"kind": "group", "title": "media", "members": [m.id for m in members]}, owner)["id"]

    def upload(self, user, data, filetype, filename="file.bin"):
        location, status, body = tus.upload(self.server.port, user.token, data, filetype, filename)
        self.assertEqual(status, 204, body)
        return int(location.rsplit("/", 1)[1])

    def send(self, user, cid, attachments, text=None, expect=200):
        body = {"client_msg_id": os.urandom(8).hex(), "attachments": attachments}
        if text is not None:
            body["text"] = text
        return self.call("POST", f"/v1/conversations/{cid}/messages", body, user, expect)

    def url(self, user, cid, seq, media_id, variant="main", expect=200):
        return self.call("GET", f"/v1/conversations/{cid}/messages/{seq}/media/{media_id}?variant={variant}",
                         None, user, expect)

    def download(self, url, headers=None):
        status, hdrs, body = tus.request(self.server.port, "GET", url, headers=headers)
        return status, hdrs, body


class TusProtocol(MediaTestCase):
    def test_options_names_the_version_and_extensions(self):
        status, hdrs, _ = tus.request(self.server.port, "OPTIONS", "/v1/uploads")
        self.assertEqual(status, 204)
        self.assertEqual(hdrs["tus-version"], "1.0.0")
        self.assertIn("creation", hdrs["tus-extension"])
        self.assertIn("expiration", hdrs["tus-extension"])
        self.assertGreater(int(hdrs["tus-max-size"]), 0)

    def test_creation_then_head_and_patch_in_pieces(self):
        alice = self.server.new_user("tus")
        data = os.urandom(700_000)
        status, hdrs, _ = tus.create(self.server.port, alice.token, len(data), "application/octet-stream", "a.bin")
        self.assertEqual(status, 201)
        self.assertEqual(hdrs["tus-resumable"], "1.0.0")
        self.assertIn("GMT", hdrs["upload-expires"])
        location = hdrs["location"]
        self.assertEqual(tus.offset(self.server.port, alice.token, location), (200, 0))
        status, hdrs, _ = tus.patch(self.server.port, alice.token, location, 0, data[:300_000])
        self.assertEqual((status, hdrs["upload-offset"]), (204, "300000"))
        # The wrong offset is a conflict and changes nothing.
        status, _, body = tus.patch(self.server.port, alice.token, location, 1234, data[1234:2000])
        self.assertEqual(status, 409, body)
        status, hdrs, body = tus.patch(self.server.port, alice.token, location, 300_000, data[300_000:])
        self.assertEqual(status, 204, body)
        self.assertEqual(hdrs["upload-offset"], str(len(data)))
        info = self.call("GET", location, None, alice)
        self.assertEqual(info["state"], "ready")
        self.assertEqual(info["attachment"]["size"], len(data))
        self.assertEqual(info["attachment"]["kind"], "file")

    def test_refuses_what_tus_forbids(self):
        alice, bob = self.server.new_user("tusr"), self.server.new_user("tusr")
        port = self.server.port
        status, hdrs, _ = tus.request(port, "POST", "/v1/uploads", alice.token,
                                      {"Tus-Resumable": "0.2.2", "Upload-Length": "10"})
        self.assertEqual(status, 412)
        self.assertEqual(hdrs["tus-version"], "1.0.0")
        status, _, _ = tus.request(port, "POST", "/v1/uploads", None, {"Upload-Length": "10"})
        self.assertEqual(status, 401)
        status, _, _ = tus.request(port, "POST", "/v1/uploads", alice.token, {"Upload-Defer-Length": "1"})
        self.assertEqual(status, 400)
        status, _, _ = tus.create(port, alice.token, 10, "image/jpeg", **{"Upload-Metadata": "filename !!!"})
        self.assertEqual(status, 400)
        status, _, body = tus.create(port, alice.token, 1 << 40, "video/mp4")
        self.assertEqual(status, 413, body)
        status, hdrs, _ = tus.create(port, alice.token, 10, "text/plain")
        location = hdrs["location"]
        # Another user's upload is not there for them.
        self.assertEqual(tus.offset(port, bob.token, location)[0], 404)
        self.assertEqual(tus.patch(port, bob.token, location, 0, b"0123456789")[0], 404)
        self.assertEqual(tus.patch(port, alice.token, location, 0, b"0123456789", "text/plain")[0], 415)
        # More bytes than declared: refused, and nothing kept past the length.
        self.assertEqual(tus.patch(port, alice.token, location, 0, b"0123456789AB")[0], 413)
        self.assertEqual(tus.offset(port, alice.token, location), (200, 0))
        status, _, _ = tus.request(port, "DELETE", location, alice.token)
        self.assertEqual(status, 204)
        self.assertEqual(tus.offset(port, alice.token, location)[0], 404)
        # A finished upload is not deleted by hand (its objects may be shared).
        location, status, _ = tus.upload(port, alice.token, b"done", "application/octet-stream")
        self.assertEqual(status, 204)
        self.assertEqual(tus.request(port, "DELETE", location, alice.token)[0], 409)

    def test_patches_back_to_back_each_find_the_upload_free(self):
        # The lock an answered PATCH held is free when its answer arrives,
        # whatever other threads still hold of it.
        alice = self.server.new_user("tusb")
        data = os.urandom(60 * 1024)
        status, hdrs, _ = tus.create(self.server.port, alice.token, len(data), "application/octet-stream")
        location = hdrs["location"]
        for at in range(0, len(data), 1024):
            status, hdrs, body = tus.patch(self.server.port, alice.token, location, at, data[at:at + 1024])
            self.assertEqual(status, 204, (at, body))
        self.assertEqual(self.call("GET", location, None, alice)["state"], "ready")

    def test_a_partial_patch_answers_its_expiry(self):
        alice = self.server.new_user("tuse")
        status, hdrs, _ = tus.create(self.server.port, alice.token, 100, "application/octet-stream")
        status, hdrs, _ = tus.patch(self.server.port, alice.token, hdrs["location"], 0, b"x" * 40)
        self.assertEqual(status, 204)
        self.assertIn("GMT", hdrs["upload-expires"])

    def test_an_upload_whose_last_chunk_was_cut_is_processed_when_asked_about(self):
        alice = self.server.new_user("tusc")
        port = self.server.port
        data = os.urandom(50_000)
        status, hdrs, _ = tus.create(port, alice.token, len(data), "application/octet-stream")
        location = hdrs["location"]
        # Every byte in a chunk, then the connection goes before the last chunk.
        tus.cut_chunked_patch(port, alice.token, location, 0, data)
        status, got = tus.offset(port, alice.token, location)
        self.assertEqual((status, got), (200, len(data)))
        deadline = time.monotonic() + 10
        state = None
        while time.monotonic() < deadline and state != "ready":
            state = self.call("GET", location, None, alice)["state"]
            time.sleep(0.05)
        self.assertEqual(state, "ready")

    def test_a_declared_type_is_never_a_header(self):
        alice, bob = self.server.new_user("tush"), self.server.new_user("tush")
        cid = self.call("POST", "/v1/conversations", {"kind": "group", "title": "h", "members": [bob.id]}, alice)["id"]
        evil = "video/x\r\ncontent-type: text/html\r\n\r\n<script>alert(1)</script>"
        location, status, body = tus.upload(self.server.port, alice.token, b"plain bytes", evil)
        self.assertEqual(status, 204, body)
        media_id = int(location.rsplit("/", 1)[1])
        self.assertEqual(self.call("GET", location, None, alice)["mime"], "application/octet-stream")
        sent = self.call("POST", f"/v1/conversations/{cid}/messages",
                         {"client_msg_id": "h1", "attachments": [{"id": media_id}]}, alice)
        link = self.call("GET", f"/v1/conversations/{cid}/messages/{sent['seq']}/media/{media_id}", None, bob)
        status, hdrs, data = tus.request(self.server.port, "GET", link["url"])
        self.assertEqual((status, hdrs["content-type"], data), (200, "application/octet-stream", b"plain bytes"))
        self.assertTrue(hdrs["content-disposition"].startswith("attachment"))
        # An image type natterd cannot check is refused rather than served as sent.
        self.assertEqual(tus.upload(self.server.port, alice.token, b"II*\0 a tiff", "image/tiff")[1], 400)


class Photos(MediaTestCase):
    def test_a_photo_arrives_upright_without_its_location(self):
        alice, bob = self.server.new_user("pho"), self.server.new_user("pho")
        cid = self.group(alice, bob)
        original = tus.jpeg_with_location(300, 200)
        size, exif, _ = tus.exif_of(original)
        self.assertEqual(size, (300, 200))
        self.assertIn(0x8825, exif)  # the test photo really carries a location
        media_id = self.upload(alice, original, "image/jpeg", "IMG_0001.jpg")
        sent = self.send(alice, cid, [{"id": media_id, "caption": "the view"}], text="look")
        att = sent["attachments"][0]
        self.assertEqual((att["kind"], att["mime"], att["width"], att["height"]), ("image", "image/jpeg", 200, 300))
        self.assertEqual(att["caption"], "the view")
        self.assertEqual(att["filename"], "IMG_0001.jpg")
        self.assertGreaterEqual(len(att["blurhash"]), 20)
        self.assertEqual(sorted(att["variants"]), ["main", "thumb"])
        self.assertNotIn("stored", att)

        history = self.call("GET", f"/v1/conversations/{cid}/messages", None, bob)
        got = [m for m in history["messages"] if m["seq"] == sent["seq"]][0]
        self.assertEqual(got["attachments"][0]["id"], media_id)
        for variant in ("main", "thumb"):
            link = self.url(bob, cid, sent["seq"], media_id, variant)
            status, hdrs, data = self.download(link["url"])
            self.assertEqual(status, 200, data[:200])
            self.assertEqual(hdrs["content-type"], "image/jpeg")
            self.assertEqual(hdrs["x-content-type-options"], "nosniff")
            self.assertEqual(int(hdrs["content-length"]), len(data))
            self.assertEqual(len(data), link["size"])
            size, exif, fmt = tus.exif_of(data)
            self.assertEqual(fmt, "JPEG")
            self.assertEqual(len(exif), 0, f"{variant} keeps metadata: {dict(exif)}")
            self.assertNotIn(b"Exif", data)
            self.assertNotIn(b"ExampleCam", data)
            self.assertGreater(size[1], size[0], f"{variant} is not upright: {size}")

    def test_the_same_photo_twice_is_stored_once(self):
        alice, bob = self.server.new_user("dup"), self.server.new_user("dup")
        cid = self.group(alice, bob)
        photo = tus.jpeg_with_location(120, 80)
        first = self.upload(alice, photo, "image/jpeg")
        second = self.upload(alice, photo, "image/jpeg")
        a = self.send(alice, cid, [{"id": first}])
        b = self.send(alice, cid, [{"id": second}])
        url_a = self.url(bob, cid, a["seq"], first)["url"]
        url_b = self.url(bob, cid, b["seq"], second)["url"]
        self.assertEqual(url_a.split("?")[0], url_b.split("?")[0])  # one object, named by its hash
        blobs = os.path.join(self.server.data_dir, "data", "media", "blobs")
        names = [f for _, _, files in os.walk(blobs) for f in files]
        digest = url_a.split("?")[0].rsplit("/", 1)[1]
        self.assertEqual(names.count(digest), 1)

    def test_a_decompression_bomb_is_refused_from_its_header(self):
        alice = self.server.new_user("bomb")
        bomb = tus.png_bomb(50000)
        started = time.monotonic()
        location, status, body = tus.upload(self.server.port, alice.token, bomb, "image/png", "bomb.png")
        self.assertEqual(status, 413, body)
        self.assertIn(b"50000 x 50000", body)
        self.assertLess(time.monotonic() - started, 5)
        self.assertEqual(tus.offset(self.server.port, alice.token, location)[0], 404)
        self.assertTrue(self.server.running())

    def test_bytes_that_contradict_the_declared_type_are_refused(self):
        alice = self.server.new_user("lie")
        jpeg = tus.jpeg_with_location(40, 40)
        for data, declared in ((jpeg, "image/png"), (b"just some text, not a photo", "image/jpeg"),
                               (jpeg, "text/plain"), (b"%PDF-1.7 not really", "image/webp")):
            location, status, body = tus.upload(self.server.port, alice.token, data, declared)
            self.assertEqual(status, 400, (declared, body))
            self.assertEqual(tus.offset(self.server.port, alice.token, location)[0], 404)
        # And a plain file said to be one is fine.
        location, status, body = tus.upload(self.server.port, alice.token, b"notes", "text/plain", "notes.txt")
        self.assertEqual(status, 204, body)


class Voice(MediaTestCase):
    def test_a_voice_note_is_kept_as_sent_with_its_duration(self):
        import io
        import wave
        alice, bob = self.server.new_user("voi"), self.server.new_user("voi")
        cid = self.group(alice, bob)
        out = io.BytesIO()
        with wave.open(out, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(os.urandom(2 * 8000 * 3 // 2))  # 1.5 s
        note = out.getvalue()
        media_id = self.upload(alice, note, "audio/wav", "note.wav")
        att = self.send(alice, cid, [{"id": media_id}])["attachments"][0]
        self.assertEqual((att["kind"], att["mime"], att["duration_ms"], att["size"]), ("audio", "audio/wav", 1500, len(note)))
        self.assertEqual(att["variants"], ["main"])
        sent_seq = self.call("GET", f"/v1/conversations/{cid}/messages", None, bob)["messages"][-1]["seq"]
        status, hdrs, data = self.download(self.url(bob, cid, sent_seq, media_id)["url"])
        self.assertEqual((status, hdrs["content-type"], data), (200, "audio/wav", note))


class Video(MediaTestCase):
    server_args = ("--media-delete-grace-ms", "500", "--media-sweep-ms", "100")

    def test_a_video_is_kept_as_sent_and_shown_by_its_senders_poster(self):
        alice, bob = self.server.new_user("vid"), self.server.new_user("vid")
        cid = self.group(alice, bob)
        movie = tus.mp4(duration_ms=4200, width=640, height=360)
        others = set(self.objects())
        video = self.upload(alice, movie, "video/mp4", "clip.mp4")
        poster = self.upload(alice, tus.jpeg_with_location(400, 260), "image/jpeg", "poster.jpg")
        ours = set(self.objects()) - others
        self.assertEqual(len(ours), 3)  # the video, and the poster's display size and thumbnail
        sent = self.send(alice, cid, [{"id": video, "thumb": poster, "caption": "look"}])
        att = sent["attachments"]
        self.assertEqual(len(att), 1, att)  # the poster is the video's, not an attachment of its own
        att = att[0]
        self.assertEqual((att["kind"], att["mime"], att["size"], att["duration_ms"], att["width"], att["height"]),
                         ("video", "video/mp4", len(movie), 4200, 640, 360))
        self.assertEqual((sorted(att["variants"]), att["caption"]), (["main", "poster", "thumb"], "look"))
        self.assertTrue(att["blurhash"])
        status, hdrs, data = self.download(self.url(bob, cid, sent["seq"], video)["url"])
        self.assertEqual((status, hdrs["content-type"], data), (200, "video/mp4", movie))
        status, hdrs, thumb = self.download(self.url(bob, cid, sent["seq"], video, "thumb")["url"])
        self.assertEqual((status, hdrs["content-type"]), (200, "image/jpeg"))
        self.assertEqual(hdrs["content-disposition"], "inline")  # an image, not clip.mp4
        size, exif, _ = tus.exif_of(thumb)
        self.assertLessEqual(max(size), 320)
        self.assertNotIn(0x8825, exif)  # the poster went through what every photo does
        status, hdrs, poster_bytes = self.download(self.url(bob, cid, sent["seq"], video, "poster")["url"])
        self.assertEqual((status, hdrs["content-type"]), (200, "image/jpeg"))
        size, exif, _ = tus.exif_of(poster_bytes)
        self.assertEqual(sorted(size), [260, 400])  # display size: as sent, upright
        self.assertNotIn(0x8825, exif)
        self.url(bob, cid, sent["seq"], poster, expect=404)  # not an attachment of the message
        # The same send again (a lost answer) finds both attached to it.
        again = self.call("POST", f"/v1/conversations/{cid}/messages",
                          {"client_msg_id": sent["client_msg_id"],
                           "attachments": [{"id": video, "thumb": poster, "caption": "look"}]}, alice)
        self.assertEqual((again["seq"], again["duplicate"]), (sent["seq"], True))
        # The poster is one message's, like any upload.
        self.send(alice, cid, [{"id": self.upload(alice, tus.mp4(), "video/mp4"), "thumb": poster}], expect=409)
        # Deleting the message lets both go, with every object.
        self.call("DELETE", f"/v1/conversations/{cid}/messages/{sent['seq']}", None, alice)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and ours & set(self.objects()):
            time.sleep(0.1)
        self.assertEqual(ours & set(self.objects()), set())
        self.call("GET", f"/v1/uploads/{video}", None, alice, expect=404)
        self.call("GET", f"/v1/uploads/{poster}", None, alice, expect=404)

    def test_a_poster_must_be_the_senders_image_for_a_video(self):
        alice, bob = self.server.new_user("vid"), self.server.new_user("vid")
        cid = self.group(alice, bob)
        video = self.upload(alice, tus.mp4(), "video/mp4")
        photo = self.upload(alice, tus.jpeg_with_location(200, 120), "image/jpeg")
        bobs = self.upload(bob, tus.jpeg_with_location(200, 120), "image/jpeg")
        other_video = self.upload(alice, tus.mp4(), "video/mp4")
        self.send(alice, cid, [{"id": video, "thumb": other_video}], expect=400)  # not an image
        self.send(alice, cid, [{"id": photo, "thumb": video}], expect=400)  # not a video's
        self.send(alice, cid, [{"id": video, "thumb": bobs}], expect=404)  # another user's
        self.send(alice, cid, [{"id": video, "thumb": video}], expect=400)
        self.send(alice, cid, [{"id": video, "thumb": photo}, {"id": photo}], expect=400)  # listed twice
        self.send(alice, cid, [{"id": video, "thumb": "x"}], expect=400)
        # Nothing of those was attached: the right send still works.
        for media_id in (video, photo, other_video):
            self.assertEqual(self.call("GET", f"/v1/uploads/{media_id}", None, alice)["state"], "ready")
        sent = self.send(alice, cid, [{"id": video, "thumb": photo}])
        self.assertEqual(sorted(sent["attachments"][0]["variants"]), ["main", "poster", "thumb"])


class Access(MediaTestCase):
    server_args = ("--media-url-ttl-seconds", "2")

    def test_only_members_read_and_removal_ends_it(self):
        alice, bob, eve = (self.server.new_user("acc") for _ in range(3))
        cid = self.group(alice, bob)
        media_id = self.upload(alice, b"%PDF-1.4 a contract", "application/pdf", "contract.pdf")
        sent = self.send(alice, cid, [{"id": media_id}])
        self.assertNotIn("text", sent.get("text", "") or {})
        link = self.url(bob, cid, sent["seq"], media_id)
        status, hdrs, data = self.download(link["url"])
        self.assertEqual((status, data), (200, b"%PDF-1.4 a contract"))
        # Not shown inline: a download, whatever the file says it is.
        self.assertEqual(hdrs["content-type"], "application/octet-stream")
        self.assertTrue(hdrs["content-disposition"].startswith("attachment"))
        self.assertIn("contract.pdf", hdrs["content-disposition"])
        # A stranger gets nothing, with or without guessing ids.
        self.url(eve, cid, sent["seq"], media_id, expect=404)
        # Eve cannot attach Alice's upload either.
        eves = self.group(eve, alice)
        self.send(eve, eves, [{"id": media_id}], expect=404)
        # An upload is one message's: the same send retried finds it attached,
        # another send is refused (deleting one message must not take the
        # other's attachment).
        retry = {"client_msg_id": sent["client_msg_id"], "attachments": [{"id": media_id}]}
        again = self.call("POST", f"/v1/conversations/{cid}/messages", retry, alice)
        self.assertEqual((again["seq"], again["duplicate"]), (sent["seq"], True))
        self.send(alice, eves, [{"id": media_id}], expect=409)
        self.send(alice, cid, [{"id": media_id}], expect=409)  # in the same conversation too
        # Removed: no new URL.
        self.call("DELETE", f"/v1/conversations/{cid}/members/{bob.id}", None, alice)
        self.url(bob, cid, sent["seq"], media_id, expect=404)
        # A tampered URL, and one past its time, are refused.
        fresh = self.url(alice, cid, sent["seq"], media_id)["url"]
        tampered = fresh.replace("name=contract.pdf", "name=other.pdf")
        self.assertEqual(self.download(tampered)[0], 403)
        self.assertEqual(self.download(fresh.replace("type=application%2Fpdf", "type=text%2Fhtml"))[0], 403)
        time.sleep(3.1)
        self.assertEqual(self.download(fresh)[0], 403)

    def test_a_deleted_message_grants_nothing(self):
        alice, bob = self.server.new_user("del"), self.server.new_user("del")
        cid = self.group(alice, bob)
        media_id = self.upload(alice, b"voice? no, bytes", "application/octet-stream")
        sent = self.send(alice, cid, [{"id": media_id}])
        self.call("DELETE", f"/v1/conversations/{cid}/messages/{sent['seq']}", None, alice)
        self.url(bob, cid, sent["seq"], media_id, expect=404)
        history = self.call("GET", f"/v1/conversations/{cid}/messages", None, bob)
        got = [m for m in history["messages"] if m["seq"] == sent["seq"]][0]
        self.assertNotIn("attachments", got)

    def test_a_send_waits_for_its_upload(self):
        alice, bob = self.server.new_user("wait"), self.server.new_user("wait")
        cid = self.group(alice, bob)
        status, hdrs, _ = tus.create(self.server.port, alice.token, 100, "application/octet-stream")
        media_id = int(hdrs["location"].rsplit("/", 1)[1])
        answer = self.send(alice, cid, [{"id": media_id}], expect=409)
        self.assertIn("still uploading", h.error_of(answer)[1])
        self.send(alice, cid, [{"id": media_id}, {"id": media_id}], expect=400)
        self.send(alice, cid, [{"id": 12345}], expect=404)

    def test_ranges_resume_a_download(self):
        alice, bob = self.server.new_user("rng"), self.server.new_user("rng")
        cid = self.group(alice, bob)
        data = os.urandom(600_000)
        media_id = self.upload(alice, data, "application/octet-stream")
        sent = self.send(alice, cid, [{"id": media_id}])
        link = self.url(bob, cid, sent["seq"], media_id)["url"]
        status, hdrs, part = self.download(link, {"Range": "bytes=500000-"})
        self.assertEqual(status, 206)
        self.assertEqual(hdrs["content-range"], f"bytes 500000-599999/{len(data)}")
        self.assertEqual(part, data[500000:])
        status, hdrs, part = self.download(link, {"Range": "bytes=-1000"})
        self.assertEqual((status, part), (206, data[-1000:]))
        status, hdrs, _ = self.download(link, {"Range": f"bytes={len(data)}-"})
        self.assertEqual((status, hdrs["content-range"]), (416, f"bytes */{len(data)}"))


class SlowReaders(MediaTestCase):
    server_args = ("--http-timeout-ms", "1500")

    def test_a_downloader_that_never_reads_is_dropped_and_costs_nothing_else(self):
        alice, bob = self.server.new_user("slow"), self.server.new_user("slow")
        cid = self.group(alice, bob)
        data = os.urandom(32 * 1024 * 1024)  # more than socket buffers hold
        media_id = self.upload(alice, data, "application/octet-stream", "big.bin")
        seq = self.send(alice, cid, [{"id": media_id}])["seq"]
        url = self.url(bob, cid, seq, media_id)["url"]
        stalled = []
        for _ in range(5):  # several at once, none reading a byte
            sock = h.socket.socket()
            sock.setsockopt(h.socket.SOL_SOCKET, h.socket.SO_RCVBUF, 4096)  # before connecting: a small window
            sock.connect(("127.0.0.1", self.server.port))
            sock.sendall(f"GET {url} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            stalled.append(sock)
        # Meanwhile everyone else is served, downloads included.
        status, _, body = self.download(url, {"Range": "bytes=0-99"})
        self.assertEqual((status, body), (206, data[:100]))
        time.sleep(3.5)  # past the time a write may wait
        for sock in stalled:
            sock.settimeout(5)
            received, chunk = 0, b"x"
            while chunk:
                chunk = sock.recv(1 << 20)  # what was in flight, then the end: the server let go
                received += len(chunk)
            sock.close()
            self.assertLess(received, len(data))
        self.assertTrue(self.server.running())
        self.assertEqual(self.download(url, {"Range": "bytes=-10"})[2], data[-10:])


class Limits(MediaTestCase):
    server_args = ("--media-uploads-per-hour", "3", "--media-quota-bytes", "1000", "--media-max-image-bytes", "600")

    def test_per_kind_size_hourly_count_and_quota(self):
        alice = self.server.new_user("lim")
        port = self.server.port
        self.assertEqual(tus.create(port, alice.token, 601, "image/png")[0], 413)
        self.assertEqual(tus.create(port, alice.token, 700, "application/zip")[0], 201)
        self.assertEqual(tus.create(port, alice.token, 400, "application/zip")[0], 413)  # past the quota
        self.assertEqual(tus.create(port, alice.token, 100, "application/zip")[0], 201)
        self.assertEqual(tus.create(port, alice.token, 100, "application/zip")[0], 201)
        status, _, body = tus.create(port, alice.token, 1, "application/zip")
        self.assertEqual(status, 429, body)


class Expiry(MediaTestCase):
    server_args = ("--media-upload-expiry-ms", "1500", "--media-sweep-ms", "200")

    def test_an_upload_never_finished_or_attached_expires(self):
        alice, bob = self.server.new_user("exp"), self.server.new_user("exp")
        cid = self.group(alice, bob)
        port = self.server.port
        status, hdrs, _ = tus.create(port, alice.token, 1000, "application/octet-stream")
        unfinished = hdrs["location"]
        self.assertEqual(tus.patch(port, alice.token, unfinished, 0, b"x" * 400)[0], 204)
        partial = os.path.join(self.server.data_dir, "data", "media", "uploads", unfinished.rsplit("/", 1)[1])
        self.assertTrue(os.path.exists(partial))
        ready = self.upload(alice, b"never attached " + os.urandom(8), "application/octet-stream")
        kept = self.upload(alice, b"attached in time " + os.urandom(8), "application/octet-stream")
        self.send(alice, cid, [{"id": kept}])
        self.assertEqual(len(self.objects()), 2)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and os.path.exists(partial):
            time.sleep(0.1)
        self.assertFalse(os.path.exists(partial))
        self.assertEqual(tus.offset(port, alice.token, unfinished)[0], 404)
        self.call("GET", f"/v1/uploads/{ready}", None, alice, expect=404)
        self.send(alice, cid, [{"id": ready}], expect=404)
        self.assertEqual(self.call("GET", f"/v1/uploads/{kept}", None, alice)["state"], "attached")
        # The object of the upload never attached went with it.
        self.assertEqual(len(self.objects()), 1)


class Deletion(MediaTestCase):
    server_args = ("--media-delete-grace-ms", "1000", "--media-sweep-ms", "100")

    def wait_for_objects(self, count):
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and len(self.objects()) != count:
            time.sleep(0.1)
        return len(self.objects())

    def test_a_deleted_messages_objects_go_after_the_grace_period_unless_shared(self):
        alice, bob = self.server.new_user("del"), self.server.new_user("del")
        cid = self.group(alice, bob)
        photo = tus.jpeg_with_location(400, 260)  # larger than a thumbnail, small for the sanitizers
        mine, forwarded = self.upload(alice, photo, "image/jpeg"), self.upload(bob, photo, "image/jpeg")
        a = self.send(alice, cid, [{"id": mine}])
        b = self.send(bob, cid, [{"id": forwarded}])
        self.assertEqual(len(self.objects()), 2)  # display and thumbnail, once for both
        url = self.url(bob, cid, a["seq"], mine)["url"]
        self.call("DELETE", f"/v1/conversations/{cid}/messages/{a['seq']}", None, alice)
        # Within the grace period a download under way still works.
        self.assertEqual(self.download(url)[0], 200)
        self.url(bob, cid, a["seq"], mine, expect=404)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and self.call("GET", f"/v1/uploads/{mine}", None, alice, expect=None):
            time.sleep(0.1)
        # Released, but bob's message uses the same objects: they stay.
        self.call("GET", f"/v1/uploads/{mine}", None, alice, expect=404)
        self.assertEqual(len(self.objects()), 2)
        status, _, body = self.download(self.url(alice, cid, b["seq"], forwarded)["url"])
        self.assertEqual(status, 200)
        self.call("DELETE", f"/v1/conversations/{cid}/messages/{b['seq']}", None, bob)
        self.assertEqual(self.wait_for_objects(0), 0)
        self.assertEqual(self.download(url)[0], 404)
        # The same photo again is stored anew.
        again = self.upload(alice, photo, "image/jpeg")
        c = self.send(alice, cid, [{"id": again}])
        self.assertEqual(len(self.objects()), 2)
        status, _, fetched = self.download(self.url(bob, cid, c["seq"], again)["url"])
        self.assertEqual((status, fetched), (200, body))


class Burst(MediaTestCase):
    # One thread and one queued task per pool: a burst of uploads overflows
    # both at once.
    server_args = ("--media-threads", "1", "--media-queue", "1")

    def rejected(self):
        m = self.server.metrics()
        return sum(m.get(f'natter_media_queue_rejected_total{{pool="{p}"}}', 0) for p in ("io", "work"))

    def finish(self, user, location, data):
        """Sends what the server lacks until the upload is ready, as a client
        does after a 503 (a HEAD that finds every byte in processes it)."""
        state = None
        for _ in range(100):
            status, at = tus.offset(self.server.port, user.token, location)
            if status == 200 and at < len(data):
                tus.patch(self.server.port, user.token, location, at, data[at:])
            status, answer = self.server.http("GET", location, token=user.token)  # may be turned away too
            state = answer.get("state") if status == 200 else state
            if state == "ready":
                break
            time.sleep(0.05)
        return state

    def test_a_burst_past_the_queues_is_turned_away_and_nothing_is_lost(self):
        from concurrent.futures import ThreadPoolExecutor
        alice, bob = self.server.new_user("bur"), self.server.new_user("bur")
        cid = self.group(alice, bob)
        uploads = []
        for _ in range(3):  # bounded: a burst is turned away in the first round all but always
            files = [os.urandom(200_000 + i) for i in range(16)]
            locations = []
            for i, data in enumerate(files):
                status, hdrs, body = tus.create(self.server.port, alice.token, len(data), "application/octet-stream")
                self.assertEqual(status, 201, body)
                locations.append(hdrs["location"])
            with ThreadPoolExecutor(len(files)) as pool:
                first = list(pool.map(lambda i: tus.patch(self.server.port, alice.token, locations[i], 0, files[i])[0],
                                      range(len(files))))
            self.assertTrue(set(first) <= {204, 409, 503}, first)  # done, or turned away to try again
            uploads += zip(locations, files)
            if self.rejected() > 0:
                break
        self.assertGreater(self.rejected(), 0)
        # Every client resumes; every upload completes, whole.
        for location, data in uploads:
            self.assertEqual(self.finish(alice, location, data), "ready")
        for batch in range(0, len(uploads), 10):
            some = uploads[batch:batch + 10]
            ids = [int(location.rsplit("/", 1)[1]) for location, _ in some]
            sent = self.send(alice, cid, [{"id": i} for i in ids])
            for media_id, (_, data) in zip(ids, some):
                status, _, body = self.download(self.url(bob, cid, sent["seq"], media_id)["url"])
                self.assertEqual((status, hashlib.sha256(body).hexdigest()),
                                 (200, hashlib.sha256(data).hexdigest()))
        m = self.server.metrics()
        self.assertGreaterEqual(m['natter_media_uploads_total{result="ready"}'], len(uploads))
        self.assertEqual(m["natter_media_queue_depth{pool=\"work\"}"], 0)


class Metrics(MediaTestCase):
    def test_what_media_does_is_counted(self):
        alice, bob = self.server.new_user("met"), self.server.new_user("met")
        cid = self.group(alice, bob)
        before = self.server.metrics()
        photo = self.upload(alice, tus.jpeg_with_location(200, 120), "image/jpeg")
        _, status, _ = tus.upload(self.server.port, alice.token, b"<html>not a png</html>", "image/png")
        self.assertEqual(status, 400)
        sent = self.send(alice, cid, [{"id": photo}])
        _, _, body = self.download(self.url(bob, cid, sent["seq"], photo)["url"])
        after = self.server.metrics()

        def grew(name):
            return after.get(name, 0) - before.get(name, 0)
        self.assertEqual(grew('natter_media_uploads_total{result="ready"}'), 1)
        self.assertEqual(grew('natter_media_uploads_total{result="refused"}'), 1)
        self.assertEqual(grew('natter_media_uploads_total{result="failed"}'), 0)
        self.assertEqual(grew("natter_media_processing_seconds_count"), 2)
        self.assertEqual(grew("natter_media_served_bytes_total"), len(body))
        self.assertGreater(grew("natter_media_processed_bytes_total"), 0)
        self.assertEqual(after['natter_media_queue_depth{pool="io"}'], 0)


class Resume(MediaTestCase):
    def test_an_upload_cut_halfway_resumes_across_a_restart(self):
        alice, bob = self.server.new_user("res"), self.server.new_user("res")
        cid = self.group(alice, bob)
        data = os.urandom(1_500_000)
        status, hdrs, _ = tus.create(self.server.port, alice.token, len(data), "application/octet-stream", "big.bin")
        location = hdrs["location"]
        tus.cut_patch(self.server.port, alice.token, location, 0, data, send=800_000)
        status, got = tus.offset(self.server.port, alice.token, location)
        self.assertEqual(status, 200)
        self.assertEqual(got, 800_000)
        self.server.restart()
        alice_token = self.server.login(alice.handle, alice.password)[1]["access_token"]
        status, got = tus.offset(self.server.port, alice_token, location)
        self.assertEqual((status, got), (200, 800_000))
        status, hdrs, body = tus.patch(self.server.port, alice_token, location, got, data[got:])
        self.assertEqual(status, 204, body)
        media_id = int(location.rsplit("/", 1)[1])
        alice.token = alice_token
        sent = self.send(alice, cid, [{"id": media_id}])
        bob.token = self.server.login(bob.handle, bob.password)[1]["access_token"]
        status, _, fetched = self.download(self.url(bob, cid, sent["seq"], media_id)["url"])
        self.assertEqual(status, 200)
        self.assertEqual(hashlib.sha256(fetched).hexdigest(), hashlib.sha256(data).hexdigest())


if __name__ == "__main__":
    h.main()
