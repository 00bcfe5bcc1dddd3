"""Profiles: a display name and a picture others see. The picture is an
image upload, processed like any photo (no location left), served through
short-lived URLs, and deleted after a grace period once replaced."""
import os
import time

import natter_harness as h
import tus_client as tus


class Profiles(h.ServerTestCase):
    timeout = 240  # libvips under ThreadSanitizer takes seconds a photo
    server_args = ("--media-delete-grace-ms", "300", "--media-sweep-ms", "100")

    def call(self, method, path, user, body=None, expect=200):
        status, answer = self.server.http(method, path, body, token=user.token, timeout=120)
        self.assertEqual(status, expect, answer)
        return answer

    def upload(self, user, data, filetype):
        location, status, body = tus.upload(self.server.port, user.token, data, filetype)
        self.assertEqual(status, 204, body)
        return int(location.rsplit("/", 1)[1])

    def test_a_display_name_others_see(self):
        bob, alice = self.server.new_user("pro"), self.server.new_user("pro")
        answer = self.call("PATCH", "/v1/me/profile", bob, {"display_name": "Bob 🚲 B."})
        self.assertEqual((answer["handle"], answer["display_name"]), (bob.handle, "Bob 🚲 B."))
        self.assertEqual(self.call("GET", f"/v1/users/{bob.handle}", alice)["display_name"], "Bob 🚲 B.")
        for bad, code in (("tab\there", 400), ("\u0085next line", 400), ("x" * 65, 413)):
            self.assertEqual(h.error_of(self.call("PATCH", "/v1/me/profile", bob, {"display_name": bad},
                                                  expect=code))[0], "bad_request" if code == 400 else "too_large")
        self.call("PATCH", "/v1/me/profile", bob, {}, expect=400)
        self.call("PATCH", "/v1/me/profile", bob, {"display_name": 5}, expect=400)
        self.assertEqual(self.call("GET", f"/v1/users/{bob.id}", alice)["display_name"], "Bob 🚲 B.")  # unchanged
        self.call("PATCH", "/v1/me/profile", bob, {"display_name": ""})
        self.assertNotIn("display_name", self.call("GET", f"/v1/users/{bob.id}", alice))

    def test_a_picture_without_its_location_replaced_and_removed(self):
        bob, alice = self.server.new_user("pic"), self.server.new_user("pic")
        first = self.upload(bob, tus.jpeg_with_location(200, 130), "image/jpeg")
        answer = self.call("PATCH", "/v1/me/profile", bob, {"avatar": first})
        self.assertEqual((answer["avatar"]["id"], answer["avatar"]["kind"]), (first, "image"))
        self.assertNotIn("filename", answer["avatar"])  # what the file was called stays on the phone
        self.assertEqual(self.call("GET", f"/v1/uploads/{first}", bob)["state"], "attached")
        self.assertEqual(self.call("GET", f"/v1/users/{bob.handle}", alice)["avatar"]["id"], first)
        grant = self.call("GET", f"/v1/users/{bob.id}/avatar", alice)
        status, hdrs, thumb = tus.request(self.server.port, "GET", grant["url"])
        self.assertEqual((status, hdrs["content-type"]), (200, "image/jpeg"))
        size, exif, _ = tus.exif_of(thumb)
        self.assertLessEqual(max(size), 320)
        self.assertNotIn(0x8825, exif)
        grant = self.call("GET", f"/v1/users/{bob.handle}/avatar?variant=main", alice)
        self.assertEqual(sorted(tus.exif_of(tus.request(self.server.port, "GET", grant["url"])[2])[0]), [130, 200])
        # Replaced: the first picture goes after the grace period.
        second = self.upload(bob, tus.jpeg_with_location(160, 160), "image/jpeg")
        self.assertEqual(self.call("PATCH", "/v1/me/profile", bob, {"avatar": second})["avatar"]["id"], second)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and self.server.http("GET", f"/v1/uploads/{first}",
                                                               token=bob.token)[0] != 404:
            time.sleep(0.1)
        self.call("GET", f"/v1/uploads/{first}", bob, expect=404)
        self.call("PATCH", "/v1/me/profile", bob, {"avatar": second})  # the same again: unchanged
        self.assertEqual(self.call("GET", f"/v1/uploads/{second}", bob)["state"], "attached")
        # Replaced and taken back within the grace period: it stays.
        third = self.upload(bob, tus.jpeg_with_location(120, 120), "image/jpeg")
        self.call("PATCH", "/v1/me/profile", bob, {"avatar": third})
        self.call("PATCH", "/v1/me/profile", bob, {"avatar": second})
        # Once the third is gone, the grace period is over and sweeps ran.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and self.server.http("GET", f"/v1/uploads/{third}",
                                                               token=bob.token)[0] != 404:
            time.sleep(0.1)
        self.call("GET", f"/v1/uploads/{third}", bob, expect=404)
        time.sleep(0.3)  # and a few more sweeps
        self.assertEqual(self.call("GET", f"/v1/uploads/{second}", bob)["state"], "attached")
        grant = self.call("GET", f"/v1/users/{bob.id}/avatar", alice)
        self.assertEqual(tus.request(self.server.port, "GET", grant["url"])[0], 200)
        # Removed.
        self.assertNotIn("avatar", self.call("PATCH", "/v1/me/profile", bob, {"avatar": None}))
        self.call("GET", f"/v1/users/{bob.id}/avatar", alice, expect=404)

    def test_what_cannot_be_a_picture(self):
        bob, alice = self.server.new_user("bad"), self.server.new_user("bad")
        alices = self.upload(alice, tus.jpeg_with_location(120, 80), "image/jpeg")
        self.call("PATCH", "/v1/me/profile", bob, {"avatar": alices}, expect=404)
        notes = self.upload(bob, b"just notes", "text/plain")
        self.call("PATCH", "/v1/me/profile", bob, {"avatar": notes}, expect=400)
        photo = self.upload(bob, tus.jpeg_with_location(120, 80), "image/jpeg")
        cid = self.call("POST", "/v1/conversations", bob, {"kind": "group", "title": "t", "members": []})["id"]
        self.call("POST", f"/v1/conversations/{cid}/messages", bob,
                  {"client_msg_id": os.urandom(6).hex(), "attachments": [{"id": photo}]})
        self.call("PATCH", "/v1/me/profile", bob, {"avatar": photo}, expect=409)
        self.call("PATCH", "/v1/me/profile", bob, {"avatar": -3}, expect=400)
        self.call("PATCH", "/v1/me/profile", bob, {"avatar": 123456789}, expect=404)
        self.assertNotIn("avatar", self.call("GET", f"/v1/users/{bob.id}", alice))


if __name__ == "__main__":
    h.main()
