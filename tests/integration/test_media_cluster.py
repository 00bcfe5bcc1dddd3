"""Media in the local cluster, with the S3 backend (a cluster's nodes share no
disk): an upload started on one node is completed on another, a member
reading through a third gets a presigned URL that works, and deleting the
message deletes its objects from the bucket once, though every node sweeps."""
import os
import time
import urllib.parse

import natter_harness as h
import s3_standin
import tus_client as tus
from cluster_harness import LocalCluster
from test_media_s3 import fetch


class MediaCluster(h.unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s3 = s3_standin.S3Standin()
        args = " ".join(cls.s3.natterd_args(path_style=True))
        cls.cluster = LocalCluster(args + " --media-delete-grace-ms 500 --media-sweep-ms 200").start()

    @classmethod
    def tearDownClass(cls):
        cls.cluster.stop()
        cls.s3.close()

    def call(self, node, method, path, body, user, expect=200):
        status, answer = node.http(method, path, body, token=user.token, timeout=120)  # photos under the sanitizers
        self.assertEqual(status, expect, answer)
        return answer

    def test_an_upload_crosses_nodes_and_its_objects_go_with_its_message(self):
        one, two, three = (self.cluster.nodes[n] for n in (1, 2, 3))
        alice, bob = one.new_user("mc"), one.new_user("mc")
        photo = tus.jpeg_with_location(400, 260)
        target = self.call(one, "POST", "/v1/media/uploads",
                           {"size": len(photo), "mime": "image/jpeg", "filename": "p.jpg"}, alice)
        self.assertEqual(target["transport"], "s3")
        status, hdrs, body = fetch(target["parts"][0]["url"], "PUT", photo)
        self.assertEqual(status, 200, body)
        done = self.call(two, "POST", f"/v1/media/uploads/{target['media_id']}/complete",
                         {"parts": [{"part": 1, "etag": hdrs["etag"]}]}, alice)
        self.assertEqual(done["attachment"]["kind"], "image")
        self.assertEqual(self.call(three, "GET", f"/v1/uploads/{target['media_id']}", None, alice)["state"], "ready")
        before = set(self.s3.keys("blobs/"))
        conv = self.call(two, "POST", "/v1/conversations", {"kind": "group", "title": "c", "members": [bob.id]},
                         alice)["id"]
        seq = self.call(one, "POST", f"/v1/conversations/{conv}/messages",
                        {"client_msg_id": os.urandom(8).hex(), "attachments": [{"id": target["media_id"]}]},
                        alice)["seq"]
        grant = self.call(three, "GET", f"/v1/conversations/{conv}/messages/{seq}/media/{target['media_id']}",
                          None, bob)
        status, _, body = fetch(grant["url"])
        self.assertEqual(status, 200)
        self.assertEqual(tus.exif_of(body)[2], "JPEG")
        key = urllib.parse.urlsplit(grant["url"]).path.split("/", 2)[2]
        self.assertIn(key, before)
        self.call(three, "DELETE", f"/v1/conversations/{conv}/messages/{seq}", None, alice)
        deadline = time.time() + 30
        while time.time() < deadline and key in self.s3.keys("blobs/"):
            time.sleep(0.2)
        self.assertNotIn(key, self.s3.keys("blobs/"))
        # Released once, though three nodes sweep: no refusal, no second delete.
        deletes = [r for r in self.s3.requests if r[0] == "DELETE" and r[1] == key]
        self.assertEqual(len(deletes), 1)


if __name__ == "__main__":
    h.main()
