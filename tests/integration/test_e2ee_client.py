"""libnatter's end-to-end encryption (docs/e2ee.md) through the C API against a
real natterd: a user's new device that reads from the time it was added, a
stale device list refused and sent again, an identity change reported, safety
numbers after it, a lost message and bytes that are no ciphertext. (The CLI's
chats, and the grep of the server for plaintext, are test_e2ee_cli.)"""

import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import natter_harness as h  # noqa: E402
from client_harness import CApiClient, Server  # noqa: E402
from test_keys import VECTORS, b64, device_keys  # noqa: E402


class EncryptedClientTest(h.unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="natter-e2ee-client-")
        cls.server = Server(os.path.join(cls.dir, "server")).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()

    # ---- helpers ----

    def app(self, handle, name=None):
        """A libnatter client through the C API, logged in, caught up and with its keys published."""
        directory = os.path.join(self.dir, name or f"app-{handle}")
        key = os.urandom(32).hex()
        c = CApiClient(self.server, directory, device_key=key, timeout_seconds=5)
        c.directory, c.device_key = directory, key
        self.clients.append(c)
        c.call({"@type": "register", "handle": handle, "password": f"password-{handle}"})  # a second device: taken
        login = c.call({"@type": "login", "handle": handle, "password": f"password-{handle}"})
        self.assertEqual(login["@type"], "result", login)
        c.user_id = login["user_id"]
        c.wait(lambda e: e["@type"] == "keys_published", 15, "keys_published")
        return c

    def send(self, client, conversation, text):
        sent = client.call({"@type": "send_message", "conversation_id": conversation, "text": text})
        self.assertEqual(sent["@type"], "result", sent)
        state = client.wait(lambda e: e["@type"] == "message_state" and e["client_msg_id"] == sent["client_msg_id"]
                            and e["state"] in ("sent", "failed"), 20, "the send's outcome")
        self.assertEqual(state["state"], "sent", state)
        return state["seq"]

    def entry(self, client, conversation, seq, timeout=15):
        """The entry `seq` as the client has it once it arrived (live or by sync)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            page = client.call({"@type": "get_history", "conversation_id": conversation, "limit": 100})
            for m in page.get("messages", []):
                if m["seq"] == seq:
                    return m
            time.sleep(0.2)
        self.fail(f"entry {seq} of {conversation} never arrived")

    # ---- tests ----

    def test_a_new_device_reads_from_when_it_was_added_after_a_stale_list_is_retried(self):
        dave, erin = self.app("e2dave"), self.app("e2erin")
        conv = dave.call({"@type": "create_direct", "peer_id": erin.user_id, "encrypted": True})
        self.assertTrue(conv["encrypted"], conv)
        before = self.send(dave, conv["id"], "before the new phone")
        self.assertEqual(self.entry(erin, conv["id"], before)["text"], "before the new phone")

        # Dave is away while erin signs in on a second phone: he misses the
        # `devices` event, so his list of erin's devices is stale.
        dave.call({"@type": "app_background"})
        erin2 = self.app("e2erin", name="app-e2erin-2")
        sent = dave.call({"@type": "send_message", "conversation_id": conv["id"], "text": "after the new phone"})
        dave.call({"@type": "app_foreground"})
        state = dave.wait(lambda e: e["@type"] == "message_state" and e["client_msg_id"] == sent["client_msg_id"]
                          and e["state"] in ("sent", "failed"), 20, "the send's outcome")
        self.assertEqual(state["state"], "sent", state)
        after = state["seq"]
        changed = dave.wait(lambda e: e["@type"] == "identity_changed", 5, "identity_changed")
        self.assertEqual((changed["user_id"], changed["reason"]), (erin.user_id, "new_device"))

        # Both of erin's phones read what came after; the new one not what came before.
        self.assertEqual(self.entry(erin, conv["id"], after)["text"], "after the new phone")
        self.assertEqual(self.entry(erin2, conv["id"], after)["text"], "after the new phone")
        self.assertEqual(self.entry(erin2, conv["id"], before)["undecryptable"], "not_for_this_device")
        # Erin's new phone answers; dave and erin's first phone read it.
        reply = self.send(erin2, conv["id"], "new phone, same erin")
        self.assertEqual(self.entry(dave, conv["id"], reply)["text"], "new phone, same erin")
        self.assertEqual(self.entry(erin, conv["id"], reply)["text"], "new phone, same erin")
        # The safety number changed with erin's new device, and both sides see the new one.
        number = dave.call({"@type": "get_safety_number", "user_id": erin.user_id})
        self.assertEqual(number, dict(number, **{"@type": "result"}))
        self.assertEqual(erin2.call({"@type": "get_safety_number", "user_id": dave.user_id})["safety_number"],
                         number["safety_number"])

    def test_a_burst_of_encrypted_sends_all_go_out_sealed_once_and_in_order(self):
        """Twenty sends asked at once, in a group whose sessions do not exist yet:
        they are sealed one at a time (no bundle claimed twice), each goes out
        once, and every member reads all of them in order."""
        kim, lou, max_ = self.app("e2kim"), self.app("e2lou"), self.app("e2max")
        group = kim.call({"@type": "create_group", "title": "burst", "members": [lou.user_id, max_.user_id],
                          "encrypted": True})
        self.assertTrue(group["encrypted"], group)
        ids = [kim.call({"@type": "send_message", "conversation_id": group["id"], "text": f"burst {i}"})
               for i in range(20)]
        self.assertTrue(all(r["@type"] == "result" for r in ids), ids)
        pending = {r["client_msg_id"]: i for i, r in enumerate(ids)}
        seqs = {}
        deadline = time.monotonic() + 60
        while len(seqs) < len(pending) and time.monotonic() < deadline:
            kim.pump(0.5)
            for e in kim.events:  # also those that came while the sends were asked
                if e["@type"] == "message_state" and e.get("client_msg_id") in pending:
                    self.assertNotEqual(e["state"], "failed", e)
                    if e["state"] == "sent":
                        seqs[pending[e["client_msg_id"]]] = e["seq"]
        self.assertEqual(len(seqs), 20, seqs)
        in_order = [seqs[i] for i in range(20)]
        self.assertEqual(in_order, sorted(in_order), "sent out of order")
        for reader in (lou, max_):
            last = self.entry(reader, group["id"], in_order[-1])
            self.assertEqual(last["text"], "burst 19")
            page = reader.call({"@type": "get_history", "conversation_id": group["id"], "limit": 100})
            texts = [m.get("text") for m in sorted(page["messages"], key=lambda m: m["seq"]) if m["seq"] in in_order]
            self.assertEqual(texts, [f"burst {i}" for i in range(20)])
        # One session per device pair: of the 100 one-time prekeys lou and max
        # each published, one was claimed.
        with sqlite3.connect(os.path.join(self.server.data_dir, "natter.db"), timeout=10) as db:
            for peer in (lou, max_):
                left = db.execute("SELECT count(*) FROM e2ee_prekeys WHERE user_id = ?", (peer.user_id,)).fetchone()
                self.assertEqual(left[0], 99, f"{peer.user_id}: {left[0]} one-time prekeys left")

    def test_a_group_gives_its_sender_keys_to_a_member_s_new_device(self):
        hal, ivy, jay = self.app("e2hal"), self.app("e2ivy"), self.app("e2jay")
        group = hal.call({"@type": "create_group", "title": "sealed", "members": [ivy.user_id, jay.user_id],
                          "encrypted": True})
        self.assertTrue(group["encrypted"], group)
        conv = group["id"]
        first = self.send(hal, conv, "first to the group")
        for reader in (ivy, jay):
            self.assertEqual(self.entry(reader, conv, first)["text"], "first to the group")
        # Every member sends: each has a sender key of its own.
        from_jay = self.send(jay, conv, "jay's own key")
        for reader in (hal, ivy):
            self.assertEqual(self.entry(reader, conv, from_jay)["text"], "jay's own key")

        # Ivy adds a phone: hal's next message gives it his sender key, jay's
        # next one gives it jay's; ivy's first phone and jay need nothing new.
        ivy2 = self.app("e2ivy", name="app-e2ivy-2")
        second = self.send(hal, conv, "second to the group")
        reply = self.send(jay, conv, "and a reply")
        for reader in (ivy, ivy2, jay):
            self.assertEqual(self.entry(reader, conv, second)["text"], "second to the group")
        for reader in (hal, ivy, ivy2):
            self.assertEqual(self.entry(reader, conv, reply)["text"], "and a reply")
        self.assertEqual(self.entry(ivy2, conv, first)["undecryptable"], "not_for_this_device")
        # The new phone writes to the group; everyone (ivy's first phone too) reads it.
        from_ivy2 = self.send(ivy2, conv, "from the new phone")
        for reader in (hal, ivy, jay):
            self.assertEqual(self.entry(reader, conv, from_ivy2)["text"], "from the new phone")
        # An edit and a reaction are sealed the same way.
        edited = ivy2.call({"@type": "edit_message", "conversation_id": conv, "seq": from_ivy2,
                            "text": "from the new phone, edited"})
        self.assertEqual(edited["text"], "from the new phone, edited", edited)
        reacted = hal.call({"@type": "react", "conversation_id": conv, "seq": from_ivy2, "emoji": "+1"})
        self.assertEqual(reacted["text"], "+1", reacted)
        self.assertEqual(self.entry(jay, conv, from_ivy2)["text"], "from the new phone, edited")
        self.assertEqual(self.entry(ivy, conv, reacted["seq"])["text"], "+1")

        # Jay is removed: hal's sender key is new, so jay's copy of the old one
        # reads nothing that follows. The key goes to each of ivy's phones in
        # an envelope of its own again.
        removed = hal.call({"@type": "remove_member", "conversation_id": conv, "user_id": jay.user_id})
        self.assertEqual(removed["@type"], "result", removed)
        after = self.send(hal, conv, "jay is gone")
        for reader in (ivy, ivy2):
            self.assertEqual(self.entry(reader, conv, after)["text"], "jay is gone")
        with sqlite3.connect(os.path.join(self.server.data_dir, "natter.db"), timeout=10) as db:
            rows = db.execute("SELECT user_id, type FROM message_envelopes WHERE conversation_id = ? AND seq = ?",
                              (conv, after)).fetchall()
        # (A session still starting is a PreKeySignalMessage, 3; an answered one a SignalMessage, 2.)
        self.assertEqual(len([t for u, t in rows if u == ivy.user_id and t in (2, 3)]), 2, rows)
        self.assertNotIn(jay.user_id, [u for u, _ in rows])

    def test_a_member_who_lost_a_sender_key_asks_for_it_again(self):
        kim, lee = self.app("e2kim"), self.app("e2lee")
        conv = kim.call({"@type": "create_group", "title": "repair", "members": [lee.user_id],
                         "encrypted": True})["id"]
        self.assertEqual(self.entry(lee, conv, self.send(lee, conv, "lee first"))["text"], "lee first")
        # Lee is away; the one message that carried kim's sender key to lee is
        # deleted before lee comes back, so lee never gets that key.
        lee.call({"@type": "app_background"})
        carried = self.send(kim, conv, "kim's key rides on this")
        kim.call({"@type": "delete_message", "conversation_id": conv, "seq": carried})
        lee.call({"@type": "app_foreground"})
        lee.wait(lambda e: e["@type"] == "connection_state" and e["state"] == "ready", 15, "ready")
        # Kim's next message is live for lee and unreadable: a failure, told.
        unreadable = self.send(kim, conv, "lee cannot read this")
        failed = lee.wait(lambda e: e["@type"] == "decryption_failed" and e["seq"] == unreadable, 15,
                          "decryption_failed")
        self.assertEqual(failed["code"], "not_for_this_device")
        # Lee's device asked kim's for a new session: kim's next message gives lee the key again.
        asked = kim.wait(lambda e: e["@type"] == "session_reset", 10, "session_reset")
        self.assertEqual((asked["user_id"], asked["to_device_id"]), (lee.user_id, kim.call({"@type": "get_state"})["device_id"]))
        after = self.send(kim, conv, "readable again")
        self.assertEqual(self.entry(lee, conv, after)["text"], "readable again")
        # And both ways work on the new sessions.
        self.assertEqual(self.entry(kim, conv, self.send(lee, conv, "lee again"))["text"], "lee again")

    def test_a_server_that_swaps_a_device_s_identity_key_is_caught(self):
        max_, nia = self.app("e2max"), self.app("e2nia")
        conv = max_.call({"@type": "create_direct", "peer_id": nia.user_id, "encrypted": True})["id"]
        self.assertEqual(self.entry(nia, conv, self.send(max_, conv, "hello nia"))["text"], "hello nia")
        number = max_.call({"@type": "get_safety_number", "user_id": nia.user_id})
        self.assertEqual(number["@type"], "result", number)
        self.assertEqual(nia.call({"@type": "get_safety_number", "user_id": max_.user_id})["safety_number"],
                         number["safety_number"])
        # The server now lists nia's device with a key of its own: the number
        # max's device would show is refused, not computed over it.
        with sqlite3.connect(os.path.join(self.server.data_dir, "natter.db"), timeout=10) as db:
            db.execute("UPDATE e2ee_devices SET identity_key = ? WHERE user_id = ?",
                       (VECTORS[0]["identity_key"], nia.user_id))
        refused = max_.call({"@type": "get_safety_number", "user_id": nia.user_id})
        self.assertEqual((refused["@type"], refused["code"]), ("error", "forbidden"), refused)
        changed = max_.wait(lambda e: e["@type"] == "identity_changed", 5, "identity_changed")
        self.assertEqual((changed["user_id"], changed["reason"]), (nia.user_id, "identity_key_changed"))

    def test_a_device_whose_keys_file_was_lost_becomes_a_new_device(self):
        oli, pam = self.app("e2oli"), self.app("e2pam")
        conv = oli.call({"@type": "create_direct", "peer_id": pam.user_id, "encrypted": True})["id"]
        self.assertEqual(self.entry(pam, conv, self.send(oli, conv, "before the loss"))["text"], "before the loss")
        old_device = pam.call({"@type": "get_state"})["device_id"]
        # The app is reinstalled over its data but the keys file is gone (or
        # was never backed up): the identity the server has for the device is lost.
        pam.close()
        os.remove(os.path.join(pam.directory, "keys.db"))
        again = CApiClient(self.server, pam.directory, device_key=pam.device_key, timeout_seconds=5)
        self.clients.append(again)
        published = again.wait(lambda e: e["@type"] == "keys_published", 15, "keys_published")
        self.assertNotEqual(published["device_id"], old_device)
        _, listed = h.http_request(self.server.port, "GET", f"/v1/users/{pam.user_id}/devices",
                                   token=self.token_of("e2oli"))
        self.assertEqual([d["device_id"] for d in listed["devices"]], [published["device_id"]])
        self.assertEqual(self.entry(again, conv, self.send(oli, conv, "after the loss"))["text"], "after the loss")

    def token_of(self, handle):
        _, login = h.http_request(self.server.port, "POST", "/v1/auth/login",
                                  {"handle": handle, "password": f"password-{handle}", "device": "check"})
        return login["access_token"]

    def test_a_file_goes_up_sealed_and_opens_on_the_members_devices(self):
        una, vic = self.app("e2una"), self.app("e2vic")
        conv = una.call({"@type": "create_direct", "peer_id": vic.user_id, "encrypted": True})["id"]
        plain = b"MARKER-" + os.urandom(3000) + b"-the plans in full"
        path = os.path.join(self.dir, "plans.bin")
        with open(path, "wb") as f:
            f.write(plain)
        sent = una.call({"@type": "send_message", "conversation_id": conv, "text": "the plans",
                         "files": [{"path": path, "caption": "read after burning"}]})
        self.assertEqual(sent["@type"], "result", sent)
        state = una.wait(lambda e: e["@type"] == "message_state" and e["client_msg_id"] == sent["client_msg_id"]
                         and e["state"] in ("sent", "failed"), 20, "the send's outcome")
        self.assertEqual(state["state"], "sent", state)
        entry = self.entry(vic, conv, state["seq"])
        self.assertEqual(entry["text"], "the plans")
        [file] = entry["attachments"]
        self.assertEqual((file["filename"], file["caption"], file["size"]), ("plans.bin", "read after burning", len(plain)))
        got = vic.call({"@type": "download_attachment", "conversation_id": conv, "seq": state["seq"],
                        "media_id": file["id"]})
        self.assertEqual(got["@type"], "result", got)
        with open(got["path"], "rb") as f:
            self.assertEqual(f.read(), plain)
        # The sender's device shows its own file as sent.
        [mine] = self.entry(una, conv, state["seq"])["attachments"]
        self.assertEqual((mine["id"], mine["filename"]), (file["id"], "plans.bin"))
        # The server holds the upload, and none of what it says.
        found = []
        for root, _, names in os.walk(self.server.data_dir):
            for name in names:
                with open(os.path.join(root, name), "rb") as f:
                    data = f.read()
                found += [(s, name) for s in (b"MARKER-", b"read after burning", b"plans.bin") if s in data]
        self.assertEqual(found, [])
        # Bytes the store changed are not the file sent: the download is refused, nothing left in the cache.
        [stored] = [os.path.join(root, name) for root, _, names in os.walk(os.path.join(self.server.data_dir, "media"))
                    for name in names if os.path.getsize(os.path.join(root, name)) == len(plain) + 28]
        with open(stored, "r+b") as f:
            f.seek(100)
            byte = f.read(1)
            f.seek(100)
            f.write(bytes([byte[0] ^ 1]))
        os.remove(got["path"])
        refused = vic.call({"@type": "download_attachment", "conversation_id": conv, "seq": state["seq"],
                            "media_id": file["id"]})
        self.assertEqual((refused["@type"], refused["code"]), ("error", "bad_request"), refused)
        self.assertFalse(os.path.exists(got["path"]))

    def test_a_lost_message_and_a_tampered_one_leave_the_others_readable(self):
        frank, gina = self.app("e2frank"), self.app("e2gina")
        conv = frank.call({"@type": "create_direct", "peer_id": gina.user_id, "encrypted": True})["id"]
        self.assertEqual(self.entry(gina, conv, self.send(frank, conv, "one"))["text"], "one")
        # Gina is away; frank sends two and takes the first back before she
        # returns: its ciphertext is gone, the ratchet skips it.
        gina.call({"@type": "app_background"})
        lost = self.send(frank, conv, "two (taken back)")
        kept = self.send(frank, conv, "three")
        deleted = frank.call({"@type": "delete_message", "conversation_id": conv, "seq": lost})
        self.assertEqual(deleted["@type"], "result", deleted)
        gina.call({"@type": "app_foreground"})
        self.assertEqual(self.entry(gina, conv, kept)["text"], "three")

        # Mallory speaks the protocol by hand and sends gina bytes that are no ciphertext.
        port = self.server.port
        h.http_request(port, "POST", "/v1/auth/register", {"handle": "e2mallory", "password": "password-mallory"})
        _, login = h.http_request(port, "POST", "/v1/auth/login",
                                  {"handle": "e2mallory", "password": "password-mallory", "device": "raw"})
        token = login["access_token"]
        status, _ = h.http_request(port, "PUT", "/v1/me/keys", device_keys(VECTORS[0]), token=token)
        self.assertEqual(status, 200)
        _, mconv = h.http_request(port, "POST", "/v1/conversations",
                                  {"kind": "direct", "peer_id": gina.user_id, "encrypted": True}, token=token)
        _, devices = h.http_request(port, "GET", f"/v1/users/{gina.user_id}/devices", token=token)
        for message_type in (3, 2):
            envelopes = [{"user_id": gina.user_id, "device_id": d["device_id"], "type": message_type,
                          "body": b64(random.randbytes(120))} for d in devices["devices"]]
            status, forged = h.http_request(port, "POST", f"/v1/conversations/{mconv['id']}/messages",
                                            {"client_msg_id": f"forged-{message_type}",
                                             "encrypted": {"devices": envelopes}}, token=token)
            self.assertEqual(status, 200, forged)
            failed = gina.wait(lambda e: e["@type"] == "decryption_failed" and e["seq"] == forged["seq"]
                               and e["conversation_id"] == mconv["id"], 15, "decryption_failed")
            self.assertEqual(failed["code"], "bad_request", failed)
            self.assertEqual(self.entry(gina, mconv["id"], forged["seq"])["undecryptable"], "bad_request")
        # Gina's client goes on: frank's next message reads.
        self.assertEqual(self.entry(gina, conv, self.send(frank, conv, "four"))["text"], "four")
        self.assertEqual(gina.call({"@type": "get_state"})["connection"], "ready")


if __name__ == "__main__":
    h.main()
