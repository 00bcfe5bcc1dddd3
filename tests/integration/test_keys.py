"""The key directory of end-to-end encryption (docs/e2ee.md): a device
publishes its identity key, a signed prekey (the signature is checked) and
one-time prekeys; a sender claims a bundle per device, and no one-time prekey
is ever handed out twice, however many claim at once; a device short of
prekeys is told; a user's other devices learn when a device comes or goes;
bundle fetches have an hourly budget; bad keys change nothing."""

import asyncio
import base64
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import natter_harness as h  # noqa: E402

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "e2ee_key_vectors.json")) as f:
    VECTORS = json.load(f)["devices"]


def b64(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def prekey(key_id):
    """A one-time prekey of the right form: 0x05, then a u below 2^255 - 19."""
    u = bytearray(random.randbytes(32))
    u[31] &= 0x3F
    return {"id": key_id, "key": b64(bytes([5]) + bytes(u))}


def device_keys(vector, registration_id=1234, prekeys=range(1, 6)):
    return {"registration_id": registration_id,
            "identity_key": vector["identity_key"],
            "signed_prekey": {"id": 1, "key": vector["signed_prekey"], "signature": vector["signature"]},
            "prekeys": [prekey(i) for i in prekeys]}


class KeyDirectoryTest(h.ServerTestCase):
    server_args = ("--max-key-bundles-per-hour", "40")

    def publish(self, user, body, expect=200):
        return self.call("PUT", "/v1/me/keys", user, body, expect)

    def claim(self, user, target, expect=200, device=None):
        body = {"device_id": device} if device else {}
        return self.call("POST", f"/v1/users/{target.id}/keys/claim", user, body, expect)

    async def test_a_device_publishes_and_a_sender_claims_each_prekey_once(self):
        alice, bob = self.server.new_user("keys"), self.server.new_user("keys")
        first = self.publish(alice, device_keys(VECTORS[0]))
        self.assertEqual(first, {"device_id": 1, "prekeys": 5})
        self.assertEqual(self.call("GET", "/v1/me/keys", alice), {"device_id": 1, "prekeys": 5})
        claimed = []
        for _ in range(5):
            bundle = self.claim(bob, alice)
            self.assertEqual(bundle["user_id"], alice.id)
            [device] = bundle["devices"]
            self.assertEqual((device["device_id"], device["registration_id"], device["identity_key"]),
                             (1, 1234, VECTORS[0]["identity_key"]))
            self.assertEqual(device["signed_prekey"]["signature"], VECTORS[0]["signature"])
            claimed.append(device["prekey"]["id"])
        self.assertEqual(sorted(claimed), [1, 2, 3, 4, 5])
        # None left: the bundle still has the signed prekey, without a one-time prekey.
        [device] = self.claim(bob, alice)["devices"]
        self.assertNotIn("prekey", device)
        self.assertEqual(self.call("GET", "/v1/me/keys", alice)["prekeys"], 0)
        # More prekeys; a retry that names claimed ones brings none of them back.
        self.assertEqual(self.publish(alice, {"prekeys": [prekey(i) for i in range(6, 9)]})["prekeys"], 3)
        self.assertEqual(self.publish(alice, {"prekeys": [prekey(i) for i in range(1, 9)]})["prekeys"], 3)
        # Whom alice blocked learns nothing of her keys.
        self.call("PUT", f"/v1/me/blocks/{bob.id}", alice)
        for path, verb in ((f"/v1/users/{alice.id}/keys/claim", "POST"), (f"/v1/users/{alice.id}/devices", "GET")):
            status, answer = self.server.http(verb, path, {} if verb == "POST" else None, token=bob.token)
            self.assertEqual((status, h.error_of(answer)[0]), (404, "not_found"), answer)

    async def test_bad_keys_are_refused_and_change_nothing(self):
        alice = self.server.new_user("badkeys")
        v = VECTORS[1]
        cases = [
            ({"prekeys": [prekey(1)]}, "bad_request"),  # a first publish without the identity
            ({**device_keys(v), "identity_key": "not base64!"}, "bad_request"),
            ({**device_keys(v), "identity_key": b64(b"\x05" + b"\x00" * 31)}, "bad_request"),  # 32 bytes
            ({**device_keys(v), "identity_key": b64(b"\x06" + b"\x01" * 32)}, "bad_request"),  # not a DJB key
            ({**device_keys(v), "signed_prekey": {"id": 1, "key": v["signed_prekey"],
                                                  "signature": VECTORS[2]["signature"]}}, "bad_request"),
            ({**device_keys(v), "identity_key": VECTORS[2]["identity_key"]}, "bad_request"),  # another's signature
            ({**device_keys(v), "prekeys": [prekey(1), prekey(1)]}, "bad_request"),
            ({**device_keys(v), "prekeys": [prekey(0)]}, "bad_request"),
            ({**device_keys(v), "prekeys": [prekey(i) for i in range(1, 102)]}, "too_large"),
            ({**device_keys(v), "registration_id": -5}, "bad_request"),
        ]
        for body, code in cases:
            status, answer = self.server.http("PUT", "/v1/me/keys", body, token=alice.token)
            self.assertEqual(h.error_of(answer)[0], code, (body, answer))
            self.assertEqual(status, 413 if code == "too_large" else 400, answer)
        status, answer = self.server.http("GET", "/v1/me/keys", token=alice.token)
        self.assertEqual((status, h.error_of(answer)[0]), (404, "not_found"), answer)
        self.assertEqual(self.call("GET", f"/v1/users/{alice.id}/devices", alice)["devices"], [])
        # Once made, the device keeps its identity: another one is a new device (a new sign-in).
        self.publish(alice, device_keys(v))
        status, answer = self.server.http("PUT", "/v1/me/keys", device_keys(VECTORS[2]), token=alice.token)
        self.assertEqual((status, h.error_of(answer)[0]), (409, "conflict"), answer)
        [device] = self.call("GET", f"/v1/users/{alice.id}/devices", alice)["devices"]
        self.assertEqual(device["identity_key"], v["identity_key"])

    async def test_other_devices_learn_of_a_new_device_and_of_one_removed(self):
        alice = self.server.new_user("multi")
        phone = await self.ws(alice)
        self.publish(alice, device_keys(VECTORS[3]))
        await phone.event("devices", predicate=lambda f: f["devices"] == [1])
        laptop = self.server.relogin(alice, "laptop")
        self.assertEqual(self.publish(laptop, device_keys(VECTORS[4]))["device_id"], 2)
        changed = await phone.event("devices", predicate=lambda f: f["devices"] == [1, 2])
        self.assertEqual(changed["user_id"], alice.id)
        listed = self.call("GET", f"/v1/users/{alice.id}/devices", self.server.new_user("peer"))["devices"]
        self.assertEqual([d["device_id"] for d in listed], [1, 2])
        by_handle = self.call("GET", f"/v1/users/{alice.handle}/devices", alice)
        self.assertEqual((by_handle["user_id"], len(by_handle["devices"])), (alice.id, 2))
        self.assertEqual(self.call("DELETE", "/v1/me/keys", laptop), {"removed": True})
        await phone.event("devices", predicate=lambda f: f["devices"] == [1])
        self.assertEqual([d["device_id"] for d in self.call("GET", f"/v1/users/{alice.id}/devices", alice)["devices"]],
                         [1])

    async def test_a_user_has_at_most_twenty_devices(self):
        alice = self.server.new_user("many")
        sessions = [alice] + [self.server.relogin(alice, f"install-{i}") for i in range(20)]
        for i, session in enumerate(sessions[:20]):
            self.assertEqual(self.publish(session, device_keys(VECTORS[i % 8]))["device_id"], i + 1)
        status, answer = self.server.http("PUT", "/v1/me/keys", device_keys(VECTORS[0]), token=sessions[20].token)
        self.assertEqual((status, h.error_of(answer)[0]), (409, "conflict"), answer)
        # One signed out makes room, under a new number.
        self.call("POST", "/v1/auth/logout", sessions[3])
        self.assertEqual(self.publish(sessions[20], device_keys(VECTORS[0]))["device_id"], 21)

    async def test_signing_out_takes_the_sessions_device_with_it(self):
        alice = self.server.new_user("signout")
        self.publish(alice, device_keys(VECTORS[0]))
        tablet = self.server.relogin(alice, "tablet")
        self.assertEqual(self.publish(tablet, device_keys(VECTORS[1]))["device_id"], 2)
        self.call("POST", "/v1/auth/logout", tablet)
        devices = self.call("GET", f"/v1/users/{alice.id}/devices", alice)["devices"]
        self.assertEqual([d["device_id"] for d in devices], [1])

    async def test_a_device_asks_another_for_a_new_session(self):
        alice, bob = self.server.new_user("reset"), self.server.new_user("reset")
        self.publish(alice, device_keys(VECTORS[0]))
        ask = {"device_id": 1}
        # Only a device can ask (it is what the other answers with a new session).
        self.call("POST", f"/v1/users/{alice.id}/keys/reset", bob, ask, 403)
        self.publish(bob, device_keys(VECTORS[1]))
        self.call("POST", f"/v1/users/{alice.id}/keys/reset", bob, {"device_id": 7}, 404)
        self.call("POST", f"/v1/users/{alice.id}/keys/reset", bob, {}, 400)
        alice_ws = await self.ws(alice)
        self.assertEqual(self.call("POST", f"/v1/users/{alice.id}/keys/reset", bob, ask), {"asked": True})
        event = await alice_ws.event("session_reset")
        self.assertEqual((event["user_id"], event["device_id"], event["to_device_id"]), (bob.id, 1, 1))
        # Whom alice blocked cannot reach her devices this way either.
        self.call("PUT", f"/v1/me/blocks/{bob.id}", alice)
        self.call("POST", f"/v1/users/{alice.id}/keys/reset", bob, ask, 404)
        await alice_ws.expect_no_event("session_reset")

    async def test_a_device_short_of_prekeys_is_told(self):
        alice, bob = self.server.new_user("low"), self.server.new_user("low")
        phone = await self.ws(alice)
        self.publish(alice, device_keys(VECTORS[5], prekeys=range(1, 12)))  # 11
        self.claim(bob, alice)  # 10 left: not low yet
        self.claim(bob, alice)  # 9 left
        low = await phone.event("keys.low")
        self.assertEqual((low["device_id"], low["prekeys"]), (1, 9))

    async def test_claims_at_once_never_share_a_prekey(self):
        alice = self.server.new_user("burst")
        self.publish(alice, device_keys(VECTORS[6], prekeys=range(1, 31)))
        claimers = [self.server.new_user("claimer") for _ in range(6)]
        sockets = [await self.ws(u) for u in claimers]

        async def claim_five(c):
            ids = []
            for _ in range(5):
                [device] = (await c.call("keys.bundle", user_id=alice.id))["devices"]
                ids.append(device.get("prekey", {}).get("id"))
            return ids

        results = await asyncio.gather(*(claim_five(c) for c in sockets))
        ids = [i for r in results for i in r]
        self.assertNotIn(None, ids)
        self.assertEqual(sorted(ids), list(range(1, 31)))

    async def test_bundle_fetches_have_an_hourly_budget_per_user_and_per_pair(self):
        alice, greedy = self.server.new_user("budget"), self.server.new_user("greedy")
        self.publish(alice, device_keys(VECTORS[7], prekeys=range(1, 31)))
        # Ten an hour from one user to another: one account cannot drain anyone.
        for _ in range(10):
            self.claim(greedy, alice)
        status, answer = self.server.http("POST", f"/v1/users/{alice.id}/keys/claim", {}, token=greedy.token)
        self.assertEqual((status, h.error_of(answer)[0]), (429, "rate_limited"), answer)
        self.assertEqual(self.call("GET", "/v1/me/keys", alice)["prekeys"], 20)
        # And --max-key-bundles-per-hour (40 here) over everyone; the refused call counted too.
        target = self.server.new_user("target")
        for _ in range(10):
            self.claim(greedy, target)
        others = [self.server.new_user("other") for _ in range(20)]
        for other in others[:19]:
            self.claim(greedy, other)
        status, answer = self.server.http("POST", f"/v1/users/{others[19].id}/keys/claim", {}, token=greedy.token)
        self.assertEqual((status, h.error_of(answer)[0]), (429, "rate_limited"), answer)
        self.assertIn("(40)", answer["error"]["message"])
        status, answer = self.server.http("POST", "/v1/users/999999/keys/claim", {}, token=alice.token)
        self.assertEqual((status, h.error_of(answer)[0]), (404, "not_found"), answer)


if __name__ == "__main__":
    h.main()
