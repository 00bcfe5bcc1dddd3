"""Push in the local cluster: three natterd nodes share the push queues in
PostgreSQL and every one of them runs a push worker; each push must still be
sent exactly once (claims take jobs with FOR UPDATE SKIP LOCKED)."""

import secrets
import shutil
import tempfile
import time

import natter_harness as h
from client_harness import TestCA
from cluster_harness import LocalCluster, partition_of
from push_standins import PushStandins


class PushClusterTest(h.AsyncTestCase):
    timeout = 150

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="natter-push-cluster-")
        cls.standins = PushStandins(cls.dir, TestCA(cls.dir, "push-ca"))
        args = " ".join(cls.standins.natterd_args() + ["--push-delay-ms", "400"])
        cls.cluster = LocalCluster(args + " --request-burst 1000 --requests-per-second 5000").start()
        cls.proxy = cls.cluster.proxy

    @classmethod
    def tearDownClass(cls):
        cls.cluster.stop()
        cls.standins.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def call(self, method, path, body, user, endpoint=None):
        status, answer = (endpoint or self.proxy).http(method, path, body, token=user.token)
        self.assertEqual(status, 200, answer)
        return answer

    async def test_every_push_is_sent_once_though_every_node_could_send_it(self):
        alice = self.proxy.new_user("pca")
        bobs = [self.proxy.new_user(f"pcb{i}") for i in range(24)]
        tokens = {}
        for i, bob in enumerate(bobs):
            token = secrets.token_hex(32)
            platform = "apns" if i % 2 else "fcm"
            self.call("PUT", "/v1/me/push-device", {"platform": platform, "token": token}, bob)
            tokens[bob.id] = token
        # Direct chats on both partitions, written through every node.
        conversations = []
        for i, bob in enumerate(bobs):
            node = self.cluster.nodes[1 + i % 3]
            cid = self.call("POST", "/v1/conversations", {"kind": "direct", "peer_id": bob.id}, alice, node)["id"]
            conversations.append(cid)
        self.assertEqual({partition_of(c) for c in conversations}, {0, 1})
        # A group of all of them too: one job, 24 recipients.
        group = self.call("POST", "/v1/conversations",
                          {"kind": "group", "title": "all", "members": [b.id for b in bobs]}, alice)["id"]
        for round_ in range(3):
            for i, cid in enumerate(conversations):
                node = self.cluster.nodes[1 + (i + round_) % 3]
                self.call("POST", f"/v1/conversations/{cid}/messages",
                          {"client_msg_id": f"r{round_}-{i}", "text": f"round {round_}"}, alice, node)
            self.call("POST", f"/v1/conversations/{group}/messages",
                      {"client_msg_id": f"g{round_}", "text": f"group {round_}"}, alice)
            time.sleep(1.5)  # past the delay: each round is its own push
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(self.standins.received()) < 6 * len(bobs):
            time.sleep(0.2)
        time.sleep(2.0)  # anything sent twice would have come by now
        for bob in bobs:
            got = self.standins.received(tokens[bob.id])
            by_conversation = {}
            for push in got:
                payload = push["payload"]
                if push["provider"] == "apns":
                    key = (payload["natter"]["conversation_id"], payload["natter"]["seq"])
                else:
                    key = (int(payload["data"]["conversation_id"]), int(payload["data"]["seq"]))
                by_conversation.setdefault(key, 0)
                by_conversation[key] += 1
            duplicates = {k: n for k, n in by_conversation.items() if n > 1}
            self.assertEqual(duplicates, {}, f"pushes sent more than once to {bob}")
            self.assertEqual(len(got), 6, f"{bob} got {sorted(by_conversation)}")
        # The nodes' counters add up to exactly what the providers received.
        sent = sum(self.cluster.nodes[n].metrics().get(f'natter_push_sent_total{{provider="{p}"}}', 0)
                   for n in (1, 2, 3) for p in ("apns", "fcm"))
        self.assertEqual(sent, 6 * len(bobs))


if __name__ == "__main__":
    h.main()
