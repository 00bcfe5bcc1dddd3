"""End-to-end encrypted conversations on the server (docs/e2ee.md): a send
carries a ciphertext per recipient device (or one shared sender-key
ciphertext); natterd checks the sender's view of the device lists and refuses
a stale one with the current lists, stores only the envelopes, and gives each
user their own devices' envelopes live, in history and in sync. Edits,
reactions and deletes work on ciphertexts; nothing plain goes in; pushes say
nothing. The ciphertexts here are random bytes: natterd cannot tell them from
real ones, which libnatter's own tests make."""

import asyncio
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import natter_harness as h  # noqa: E402
import tus_client as tus  # noqa: E402
from test_keys import VECTORS, b64, device_keys  # noqa: E402


def ciphertext(size=48):
    return b64(random.randbytes(size))


class EncryptedConversationTest(h.ServerTestCase):
    def device(self, user, vector=0):
        """Publishes keys for `user`'s session: a device; its id."""
        return self.call("PUT", "/v1/me/keys", user, device_keys(VECTORS[vector]))["device_id"]

    def direct(self, a, b, encrypted=True):
        return self.call("POST", "/v1/conversations", a, {"kind": "direct", "peer_id": b.id, "encrypted": encrypted})

    def send(self, user, conversation, payload, expect=200, client_msg_id=None):
        body = {"client_msg_id": client_msg_id or f"m{random.getrandbits(40)}", "encrypted": payload}
        return self.call("POST", f"/v1/conversations/{conversation}/messages", user, body, expect)

    def history(self, user, conversation):
        return self.call("GET", f"/v1/conversations/{conversation}/messages", user)["messages"]

    def last_seq(self, user, conversation):
        return self.call("GET", f"/v1/conversations/{conversation}", user)["last_seq"]

    async def test_a_direct_chat_carries_each_device_its_own_ciphertext(self):
        alice, bob = self.server.new_user("e2a"), self.server.new_user("e2b")
        bob2 = self.server.relogin(bob)
        alice_device, bob_device, bob2_device = self.device(alice, 0), self.device(bob, 1), self.device(bob2, 2)
        secret = self.direct(alice, bob)
        self.assertTrue(secret["encrypted"])
        # The pair's plain chat is another conversation; asking again finds the same one.
        plain = self.direct(alice, bob, encrypted=False)
        self.assertFalse(plain["encrypted"])
        self.assertNotEqual(plain["id"], secret["id"])
        self.assertEqual(self.direct(bob, alice)["id"], secret["id"])

        bob_ws, alice_ws = await self.ws(bob), await self.ws(alice)
        for_bob, for_bob2 = ciphertext(), ciphertext()
        ack = self.send(alice, secret["id"], {"devices": [
            {"user_id": bob.id, "device_id": bob_device, "type": 3, "body": for_bob},
            {"user_id": bob.id, "device_id": bob2_device, "type": 3, "body": for_bob2}]})
        self.assertNotIn("text", ack)
        self.assertEqual(ack["encrypted"], {"device_id": alice_device, "envelopes": []})
        # Bob's sockets get both of his devices' envelopes, each device picks its own.
        live = (await bob_ws.event())["message"]
        self.assertEqual(live["seq"], ack["seq"])
        self.assertNotIn("text", live)
        self.assertEqual(live["encrypted"]["device_id"], alice_device)
        self.assertEqual({(e["device_id"], e["type"], e["body"]) for e in live["encrypted"]["envelopes"]},
                         {(bob_device, 3, for_bob), (bob2_device, 3, for_bob2)})
        # Alice's own socket (not the one that sent: HTTP) gets the header only.
        mine = (await alice_ws.event())["message"]
        self.assertEqual(mine["encrypted"], {"device_id": alice_device, "envelopes": []})
        # History and sync give the same to each.
        [stored] = self.history(bob, secret["id"])
        self.assertEqual(stored["encrypted"], live["encrypted"])
        self.assertEqual(self.history(alice, secret["id"])[0]["encrypted"]["envelopes"], [])
        synced = self.call("GET", "/v1/sync", bob2)
        [conversation] = [c for c in synced["conversations"] if c["conversation"]["id"] == secret["id"]]
        self.assertEqual(conversation["conversation"]["encrypted"], True)
        self.assertEqual(conversation["events"][-1]["encrypted"], live["encrypted"])
        # A retry of the send is answered as the first, nothing stored again.
        retry = self.send(alice, secret["id"], {"devices": [
            {"user_id": bob.id, "device_id": bob_device, "type": 3, "body": ciphertext()},
            {"user_id": bob.id, "device_id": bob2_device, "type": 3, "body": ciphertext()}]},
            client_msg_id=ack["client_msg_id"])
        self.assertEqual((retry["seq"], retry["duplicate"], retry["encrypted"]), (ack["seq"], True, ack["encrypted"]))
        self.assertEqual(self.last_seq(alice, secret["id"]), ack["seq"])
        # Receipts work on the seq as in any conversation.
        await bob_ws.call("messages.read", conversation_id=secret["id"], seq=ack["seq"])
        receipt = await alice_ws.event("receipt")
        self.assertEqual(receipt["read_seq"], ack["seq"])

    async def test_a_stale_device_list_is_refused_with_the_current_lists(self):
        alice, bob, carol = (self.server.new_user("stale") for _ in range(3))
        alice2 = self.server.relogin(alice)
        alice_device, alice2_device = self.device(alice, 0), self.device(alice2, 1)
        bob_device = self.device(bob, 2)
        group = self.call("POST", "/v1/conversations", alice,
                          {"kind": "group", "title": "secret", "members": [bob.id, carol.id], "encrypted": True})
        self.assertTrue(group["encrypted"])
        before = self.last_seq(alice, group["id"])

        def envelope(user, device):
            return {"user_id": user.id, "device_id": device, "type": 3, "body": ciphertext()}

        # Bob's device only: alice's other device is missing.
        refused = self.send(alice, group["id"], {"devices": [envelope(bob, bob_device)]}, expect=409)
        self.assertEqual(refused["error"]["code"], "stale_devices")
        self.assertEqual(refused["error"]["details"], {"devices": [{"user_id": alice.id, "device_ids": [alice2_device]}]})
        # A device bob does not have, and carol (no keys) named with one.
        refused = self.send(alice, group["id"], {"devices": [
            envelope(alice, alice2_device), envelope(bob, bob_device), envelope(bob, bob_device + 7),
            envelope(carol, 1)]}, expect=409)
        self.assertEqual(refused["error"]["details"]["devices"], [
            {"user_id": bob.id, "device_ids": [bob_device]}, {"user_id": carol.id, "device_ids": []}])
        self.assertEqual(self.last_seq(alice, group["id"]), before)
        # Carol publishes keys meanwhile: the list alice had is stale again, on the WebSocket too.
        carol_device = self.device(carol, 3)
        ws = await self.ws(alice2)
        frame = await ws.error("messages.send", conversation_id=group["id"], client_msg_id="ws1",
                               encrypted={"devices": [envelope(alice, alice_device), envelope(bob, bob_device)]})
        self.assertEqual((frame["code"], frame["details"]),
                         ("stale_devices", {"devices": [{"user_id": carol.id, "device_ids": [carol_device]}]}))
        # The client encrypts for the lists it was given, and the same send goes.
        sent = await ws.call("messages.send", conversation_id=group["id"], client_msg_id="ws1", encrypted={
            "devices": [envelope(alice, alice_device), envelope(bob, bob_device), envelope(carol, carol_device)]})
        self.assertEqual(sent["encrypted"]["device_id"], alice2_device)
        # A device that signs out leaves the lists at once.
        self.call("POST", "/v1/auth/logout", bob)
        refused = self.send(alice, group["id"], {"devices": [
            envelope(alice, alice2_device), envelope(bob, bob_device), envelope(carol, carol_device)]}, expect=409)
        self.assertEqual(refused["error"]["details"]["devices"], [{"user_id": bob.id, "device_ids": []}])

    async def test_a_group_message_shares_one_sender_key_ciphertext(self):
        alice, bob, carol = (self.server.new_user("skey") for _ in range(3))
        devices = {u.id: self.device(u, i) for i, u in enumerate((alice, bob, carol))}
        group = self.call("POST", "/v1/conversations", alice,
                          {"kind": "group", "title": "g", "members": [bob.id, carol.id], "encrypted": True})
        bob_ws, carol_ws = await self.ws(bob), await self.ws(carol)
        shared, distribution = ciphertext(80), ciphertext(120)
        # Carol already holds alice's sender key; bob gets it now, beside the message.
        ack = self.send(alice, group["id"], {"type": 4, "body": shared, "devices": [
            {"user_id": bob.id, "device_id": devices[bob.id], "type": 3, "body": distribution},
            {"user_id": carol.id, "device_id": devices[carol.id]}]})
        header = {"device_id": devices[alice.id], "type": 4, "body": shared}
        self.assertEqual((await bob_ws.event())["message"]["encrypted"], {**header, "envelopes": [
            {"user_id": bob.id, "device_id": devices[bob.id], "type": 3, "body": distribution}]})
        self.assertEqual((await carol_ws.event())["message"]["encrypted"], {**header, "envelopes": []})
        self.assertEqual(self.history(carol, group["id"])[-1]["encrypted"], {**header, "envelopes": []})
        self.assertEqual(ack["encrypted"], {**header, "envelopes": []})
        # A device with nothing to read is refused before anything is stored.
        refused = self.send(alice, group["id"], {"devices": [
            {"user_id": bob.id, "device_id": devices[bob.id]}, {"user_id": carol.id, "device_id": devices[carol.id]}]},
            expect=400)
        self.assertIn("needs the message's body", refused["error"]["message"])

    async def test_edits_reactions_and_deletes_work_on_ciphertexts(self):
        alice, bob = self.server.new_user("edit"), self.server.new_user("edit")
        alice_device, bob_device = self.device(alice, 0), self.device(bob, 1)
        secret = self.direct(alice, bob)
        cid = secret["id"]

        def to_bob():
            return {"devices": [{"user_id": bob.id, "device_id": bob_device, "type": 2, "body": ciphertext()}]}

        def to_alice():
            return {"devices": [{"user_id": alice.id, "device_id": alice_device, "type": 2, "body": ciphertext()}]}

        first = self.send(alice, cid, to_bob())
        bob_ws = await self.ws(bob)
        # Plain edits and emoji are refused: the server would read them.
        status, answer = self.server.http("PATCH", f"/v1/conversations/{cid}/messages/{first['seq']}",
                                          {"text": "plain"}, token=alice.token)
        self.assertEqual((status, h.error_of(answer)[0]), (400, "bad_request"), answer)
        status, answer = self.server.http("PUT", f"/v1/conversations/{cid}/messages/{first['seq']}/reactions",
                                          {"emoji": "👍"}, token=bob.token)
        self.assertEqual((status, h.error_of(answer)[0]), (400, "bad_request"), answer)
        # An encrypted edit: an event of its own with its own ciphertexts; the message keeps its first ones.
        edit_payload = to_bob()
        edit = self.call("PATCH", f"/v1/conversations/{cid}/messages/{first['seq']}", alice,
                         {"encrypted": edit_payload})
        self.assertEqual((edit["kind"], edit["target_seq"]), ("edit", first["seq"]))
        live = await bob_ws.event(predicate=lambda f: f["message"]["kind"] == "edit")
        self.assertEqual(live["message"]["encrypted"]["envelopes"][0]["body"], edit_payload["devices"][0]["body"])
        # Text beside the ciphertexts is refused: the server would read it.
        status, answer = self.server.http("PATCH", f"/v1/conversations/{cid}/messages/{first['seq']}",
                                          {"text": "plain", "encrypted": to_bob()}, token=alice.token)
        self.assertEqual((status, h.error_of(answer)[0]), (400, "bad_request"), answer)
        # Only the author edits.
        status, answer = self.server.http("PATCH", f"/v1/conversations/{cid}/messages/{first['seq']}",
                                          {"encrypted": to_alice()}, token=bob.token)
        self.assertEqual((status, h.error_of(answer)[0]), (403, "forbidden"), answer)
        # An encrypted reaction: nothing the server can count.
        reaction = self.call("PUT", f"/v1/conversations/{cid}/messages/{first['seq']}/reactions", bob,
                             {"encrypted": to_alice()})
        self.assertEqual(reaction["kind"], "reaction")
        messages = {m["seq"]: m for m in self.history(bob, cid)}
        self.assertIn("edited_at", messages[first["seq"]])
        self.assertNotIn("reactions", messages[first["seq"]])
        self.assertEqual(len(messages[first["seq"]]["encrypted"]["envelopes"]), 1)
        self.assertEqual(messages[edit["seq"]]["encrypted"], live["message"]["encrypted"])
        # A delete takes the message's ciphertexts and its edit's.
        self.call("DELETE", f"/v1/conversations/{cid}/messages/{first['seq']}", alice)
        messages = {m["seq"]: m for m in self.history(bob, cid)}
        self.assertTrue(messages[first["seq"]]["deleted"])
        self.assertNotIn("encrypted", messages[first["seq"]])
        self.assertEqual(messages[edit["seq"]].get("encrypted", {}).get("envelopes", []), [])

    async def test_everyone_in_an_encrypted_conversation_hears_of_new_and_gone_devices(self):
        alice, bob, carol = (self.server.new_user("dev") for _ in range(3))
        bob_device = self.device(bob, 1)
        self.direct(alice, bob)
        self.direct(carol, bob, encrypted=False)  # carol shares only a plain chat with bob
        alice_ws, carol_ws = await self.ws(alice), await self.ws(carol)
        bob2 = self.server.relogin(bob)
        bob2_device = self.device(bob2, 2)
        event = await alice_ws.event("devices")
        self.assertEqual(event, {"type": "devices", "user_id": bob.id, "devices": [bob_device, bob2_device]})
        # A session that ends takes its device: the list goes out again.
        self.call("POST", "/v1/auth/logout", bob2)
        event = await alice_ws.event("devices")
        self.assertEqual(event["devices"], [bob_device])
        await carol_ws.expect_no_event("devices")

    async def test_whoever_blocked_the_sender_is_not_addressed_and_hears_nothing_of_them(self):
        alice, bob, carol = (self.server.new_user("blk") for _ in range(3))
        devices = {u.id: self.device(u, i) for i, u in enumerate((alice, bob, carol))}
        group = self.call("POST", "/v1/conversations", alice,
                          {"kind": "group", "title": "g", "members": [bob.id, carol.id], "encrypted": True})
        self.call("PUT", f"/v1/me/blocks/{alice.id}", carol)

        def to(*users):
            return {"devices": [{"user_id": u.id, "device_id": devices[u.id], "type": 3, "body": ciphertext()}
                                for u in users]}

        # Carol's keys are not_found to alice, so alice cannot be asked to encrypt for her.
        refused = self.send(alice, group["id"], to(bob, carol), expect=409)
        self.assertEqual(refused["error"]["details"], {"devices": [{"user_id": carol.id, "device_ids": []}]})
        self.send(alice, group["id"], to(bob))
        # Carol still writes to alice (the block is hers to keep).
        self.send(carol, group["id"], to(alice, bob))
        # Carol's new device: bob hears of it, alice does not.
        alice_ws, bob_ws = await self.ws(alice), await self.ws(bob)
        self.device(self.server.relogin(carol), 4)
        self.assertEqual((await bob_ws.event("devices"))["user_id"], carol.id)
        await alice_ws.expect_no_event("devices")

    async def test_plain_content_never_goes_in_and_bad_ciphertexts_change_nothing(self):
        alice, bob = self.server.new_user("bad"), self.server.new_user("bad")
        bob_device = self.device(bob, 1)
        secret = self.direct(alice, bob)
        cid = secret["id"]
        good = {"devices": [{"user_id": bob.id, "device_id": bob_device, "type": 3, "body": ciphertext()}]}
        # A session that published no keys cannot send: it could not read the answers.
        refused = self.send(alice, cid, good, expect=403)
        self.assertIn("keys.publish", refused["error"]["message"])
        self.device(alice, 0)
        cases = [
            ({"client_msg_id": "t", "text": "hello"}, 400),  # plain text
            ({"client_msg_id": "t", "text": "hi", "encrypted": good}, 400),  # both
            ({"client_msg_id": "t", "encrypted": {"devices": [
                {"user_id": bob.id, "device_id": bob_device, "type": 3, "body": "not base64!"}]}}, 400),
            ({"client_msg_id": "t", "encrypted": {"devices": [
                {"user_id": bob.id, "device_id": bob_device, "type": 3, "body": "QUJD="}]}}, 400),  # padded
            ({"client_msg_id": "t", "encrypted": {"devices": [
                {"user_id": bob.id, "device_id": bob_device, "type": 3, "body": ciphertext(30000)}]}}, 413),
            ({"client_msg_id": "t", "encrypted": {"devices": [
                {"user_id": bob.id, "device_id": bob_device, "type": 300, "body": ciphertext()}]}}, 400),
            ({"client_msg_id": "t", "encrypted": {"devices": good["devices"] * 2}}, 400),  # a device twice
            ({"client_msg_id": "t", "encrypted": {"devices": "all"}}, 400),
            ({"client_msg_id": "t", "encrypted": "x"}, 400),
        ]
        for body, expect in cases:
            status, answer = self.server.http("POST", f"/v1/conversations/{cid}/messages", body, token=alice.token)
            self.assertEqual(status, expect, (body, answer))
        self.assertEqual(self.last_seq(alice, cid), 0)
        # Ciphertexts in a plain conversation are refused too.
        plain = self.direct(alice, bob, encrypted=False)
        self.send(alice, plain["id"], good, expect=400)
        # Channels are never encrypted: whoever joins one reads it.
        status, answer = self.server.http("POST", "/v1/conversations",
                                          {"kind": "channel", "title": "c", "members": [], "encrypted": True},
                                          token=alice.token)
        self.assertEqual((status, h.error_of(answer)[0]), (400, "bad_request"), answer)
        self.send(alice, cid, good)
        self.assertEqual(self.last_seq(alice, cid), 1)

    async def test_an_encrypted_message_attaches_only_ciphertext_uploads(self):
        alice, bob = self.server.new_user("att"), self.server.new_user("att")
        self.device(alice, 0)
        bob_device = self.device(bob, 1)
        cid = self.direct(alice, bob)["id"]
        good = {"devices": [{"user_id": bob.id, "device_id": bob_device, "type": 3, "body": ciphertext()}]}

        def media_id(data, mime):
            location, status, _ = tus.upload(self.server.port, alice.token, data, mime)
            self.assertEqual(status, 204)
            return int(location.rsplit("/", 1)[1])

        sealed = media_id(random.randbytes(500), "application/octet-stream")
        photo = media_id(tus.jpeg_with_location(), "image/jpeg")
        refused = [
            ({"client_msg_id": "a", "encrypted": good, "attachments": [{"id": photo}]}, "application/octet-stream"),
            ({"client_msg_id": "a", "encrypted": good, "attachments": [{"id": sealed, "caption": "plain words"}]},
             "caption"),
            ({"client_msg_id": "a", "text": "plain", "attachments": [{"id": sealed}]}, "encrypted"),
        ]
        for body, why in refused:
            status, answer = self.server.http("POST", f"/v1/conversations/{cid}/messages", body, token=alice.token)
            self.assertEqual(status, 400, (body, answer))
            self.assertIn(why, h.error_of(answer)[1])
        self.assertEqual(self.last_seq(alice, cid), 0)
        sent = self.call("POST", f"/v1/conversations/{cid}/messages", alice,
                         {"client_msg_id": "b", "encrypted": good, "attachments": [{"id": sealed}]})
        self.assertEqual([a["id"] for a in sent["attachments"]], [sealed])
        [seen] = self.history(bob, cid)
        self.assertEqual(([a["mime"] for a in seen["attachments"]], seen["encrypted"]["envelopes"][0]["type"]),
                         (["application/octet-stream"], 3))


if __name__ == "__main__":
    h.main()
