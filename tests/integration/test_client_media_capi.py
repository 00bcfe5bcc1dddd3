"""Attachments through libnatter's C API (ctypes): progress events a chunk
at a time, the uploading state, a photo that arrives upright, downloads into
the media cache and from it, and files the server or the client refuses."""
import os

import natter_harness as h
import tus_client as tus
from client_harness import CApiClient
from test_client_media import ClientMediaTest


class CApiUploads(ClientMediaTest):
    def test_progress_events_and_a_refused_file_through_the_c_api(self):
        conv = self.two_profiles()
        alice = CApiClient(self.server, os.path.join(self.dir, "alice"), upload_chunk_bytes=1024)
        self.to_close.append(alice)
        alice.wait(lambda e: e.get("@type") == "connection_state" and e.get("state") == "ready", 20, "ready")
        photo = self.file("IMG_1.jpg", tus.jpeg_with_location(640, 480))
        sent = alice.call({"@type": "send_message", "conversation_id": conv,
                           "files": [{"path": photo, "caption": "the beach"}]})
        states, progress = [], []

        def settled(e):
            if e.get("@type") == "upload_progress":
                progress.append(e["sent"])
            if e.get("@type") == "message_state" and e.get("client_msg_id") == sent["client_msg_id"]:
                states.append(e["state"])
            return bool(states) and states[-1] in ("sent", "failed")

        alice.wait(settled, timeout=30, what="sent")
        self.assertEqual(states[0], "pending")
        self.assertIn("uploading", states)
        self.assertEqual(states[-1], "sent")
        self.assertEqual(progress[-1], os.path.getsize(photo))
        self.assertGreater(len(progress), 3)  # a chunk at a time
        self.assertEqual(progress, sorted(progress))
        message = self.bob_messages(conv)[0]
        attachment = message["attachments"][0]
        self.assertEqual((attachment["kind"], attachment["caption"]), ("image", "the beach"))
        self.assertEqual((attachment["width"], attachment["height"]), (480, 640))  # upright
        # Downloads go to the media cache, then come from it.
        ask = {"@type": "download_attachment", "conversation_id": conv, "seq": message["seq"],
               "media_id": attachment["id"], "variant": "thumb"}
        got = alice.call(ask)
        self.assertEqual((got["@type"], got["cached"]), ("result", False), got)
        with open(got["path"], "rb") as f:
            self.assertEqual(tus.exif_of(f.read())[2], "JPEG")
        self.assertEqual(alice.call(ask)["cached"], True)
        other = alice.call(dict(ask, media_id=attachment["id"] + 1))
        self.assertEqual((other["@type"], other["code"]), ("error", "not_found"))
        # A file whose bytes contradict what it claims fails, with the reason.
        liar = self.file("fake.png", b"\x89PNG\r\n\x1a\n" + b"not really a picture" * 10)
        sent = alice.call({"@type": "send_message", "conversation_id": conv, "files": [{"path": liar}]})
        failed = alice.wait(lambda e: e.get("@type") == "message_state" and e.get("client_msg_id") ==
                            sent["client_msg_id"] and e.get("state") == "failed", timeout=30, what="failed")
        self.assertIn("fake.png", failed["reason"])
        # Not a file at all: refused at once.
        bad = alice.call({"@type": "send_message", "conversation_id": conv,
                          "files": [{"path": os.path.join(self.dir, "missing.bin")}]})
        self.assertEqual((bad["@type"], bad["code"]), ("error", "bad_request"))


if __name__ == "__main__":
    h.main()
