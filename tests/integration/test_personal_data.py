"""A user's data, exported and erased by an admin.

Exporting (admin.users.export): one JSON document with the account, sessions,
devices, blocks, uploads, reports they filed, the audit lines by and about them
and, for each conversation they touched, their membership, invitation, messages
and reactions, and nothing others wrote.

Erasing (admin.users.erase): their sessions end at once; every message
they sent becomes a tombstone the other members are told of, in groups they
still belong to and ones they left; their reactions, memberships, profile,
blocks, reports' words and uploads go; a group they owned passes to its
senior admin; their words leave the database files while the server runs;
the audit log keeps the call; and calling it again finishes or repeats it
harmlessly."""
import os
import time

import natter_harness as h
import tus_client as tus


class PersonalData(h.ServerTestCase):
    server_args = ("--admins", "boss", "--moderators", "mary", "--media-delete-grace-ms", "200",
                   "--media-sweep-ms", "100")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.boss = cls.server.named_user("boss")

    def call(self, method, path, user, body=None, expect=200):
        status, answer = self.server.http(method, path, body, token=user.token if user else None)
        self.assertEqual(status, expect, answer)
        return answer

    def send(self, user, cid, text, **extra):
        return self.call("POST", f"/v1/conversations/{cid}/messages", user,
                         {"client_msg_id": os.urandom(6).hex(), "text": text, **extra})

    def upload(self, user, data):
        location, status, body = tus.upload(self.server.port, user.token, data, "application/octet-stream")
        self.assertEqual(status, 204, body)
        return int(location.rsplit("/", 1)[1])

    def files(self):
        """What the database files and the stored objects hold, as bytes."""
        data = os.path.join(self.server.data_dir, "data")
        out = b""
        for name in ("natter.db", "natter.db-wal"):
            path = os.path.join(data, name)
            if os.path.exists(path):
                with open(path, "rb") as f:
                    out += f.read()
        for root, _, names in os.walk(os.path.join(data, "media")):
            for name in names:
                with open(os.path.join(root, name), "rb") as f:
                    out += f.read()
        return out

    def wait_until_gone(self, marker, seconds=15):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if marker not in self.files():
                return True
            time.sleep(0.2)
        return False

    async def test_an_erased_user_leaves_nothing_but_tombstones(self):
        marker = b"ERASE-" + os.urandom(6).hex().encode()
        words = marker.decode()
        alice, bob, carol = (self.server.new_user("er") for _ in range(3))
        # bob owns a group where carol is an admin; he writes, edits, reacts,
        # attaches a file; he also writes in a group he then leaves, and in a
        # direct chat with alice. A long message spills over database pages.
        group = self.call("POST", "/v1/conversations", bob,
                          {"kind": "group", "title": "team", "members": [alice.id, carol.id]})["id"]
        self.call("PATCH", f"/v1/conversations/{group}/members/{carol.id}", bob, {"role": "admin"})
        first = self.send(bob, group, f"{words} first")
        self.call("PATCH", f"/v1/conversations/{group}/messages/{first['seq']}", bob, {"text": f"{words} edited"})
        self.send(bob, group, f"{words} long " + "x" * 6000)
        hello = self.send(alice, group, "hello bob")
        self.call("PUT", f"/v1/conversations/{group}/messages/{hello['seq']}/reactions", bob, {"emoji": "👍"})
        attached = self.upload(bob, marker + b" attached file " + os.urandom(64))
        unattached = self.upload(bob, marker + b" never sent " + os.urandom(64))
        self.send(bob, group, "file", attachments=[{"id": attached}])
        left = self.call("POST", "/v1/conversations", alice, {"kind": "group", "members": [bob.id]})["id"]
        self.send(bob, left, f"{words} before leaving")
        self.call("DELETE", f"/v1/conversations/{left}/members/{bob.id}", bob)
        direct = self.call("POST", "/v1/conversations", bob, {"kind": "direct", "peer_id": alice.id})["id"]
        to_alice = self.send(bob, direct, f"{words} to alice alone")
        self.call("PATCH", "/v1/me/profile", bob, {"display_name": f"Bob {words}"})
        self.call("PUT", f"/v1/me/blocks/{carol.id}", bob)
        self.call("PUT", f"/v1/me/blocks/{bob.id}", carol)
        self.call("POST", "/v1/reports", bob, {"user_id": carol.id, "reason": "other", "text": f"{words} says bob"})
        reported = self.call("POST", "/v1/reports", alice,
                             {"conversation_id": direct, "seq": to_alice["seq"], "reason": "spam"})
        self.assertIn(marker, self.files())

        B = await self.ws(bob)
        A = await self.ws(alice)
        # Only an admin erases, and not themself.
        self.call("DELETE", f"/admin/v1/users/{bob.id}", alice, expect=403)
        self.call("DELETE", f"/admin/v1/users/{self.boss.id}", self.boss, expect=400)
        self.call("DELETE", "/admin/v1/users/999999999", self.boss, expect=404)
        # A handle the configuration names would be free to register, with its role.
        mary = self.server.named_user("mary")
        refused = self.call("DELETE", f"/admin/v1/users/{mary.id}", self.boss, expect=409)
        self.assertIn("--moderators", h.error_of(refused)[1])
        self.call("GET", "/v1/conversations", mary)

        answer = self.call("DELETE", f"/admin/v1/users/{bob.id}", self.boss)
        # first, the long one, the file, the one before leaving, the direct one;
        # he leaves the group (the direct chat keeps its two members)
        self.assertEqual(answer, {"user_id": bob.id, "erased": True, "messages_erased": 5, "conversations_left": 1})
        self.assertEqual(await B.wait_closed(timeout=5), (4001, "session ended"))
        self.call("GET", "/v1/conversations", bob, expect=401)
        self.assertEqual(self.server.login(bob.handle, bob.password)[0], 401)
        self.assertEqual(self.server.http("POST", "/v1/auth/refresh", {"refresh_token": bob.refresh})[0], 401)

        # The members were told, as of deletions and a departure.
        handed = await A.event("message", predicate=lambda f: f["message"]["kind"] == "role_changed"
                               and f["message"]["conversation_id"] == group)
        self.assertEqual((handed["message"]["target_user"], handed["message"]["text"]), (carol.id, "owner"))
        await A.event("message", predicate=lambda f: f["message"]["kind"] == "member_left"
                      and f["message"]["conversation_id"] == group)
        deleted = {e["message"]["target_seq"] for e in A.events("message")
                   if e["message"]["kind"] == "delete" and e["message"]["conversation_id"] == group}
        self.assertIn(first["seq"], deleted)
        for cid in (group, left, direct):
            history = self.history(alice, cid)
            self.assertNotIn(words, str(history))
            for m in history:
                if m["kind"] == "message" and m["sender_id"] == bob.id:
                    self.assertTrue(m.get("deleted"), m)
        reacted = [m for m in self.history(alice, group) if m["seq"] == hello["seq"]][0]
        self.assertNotIn("reactions", reacted)
        # carol, the admin, owns the group now; bob is in nothing.
        members = {m["user_id"]: m["role"] for m in self.call("GET", f"/v1/conversations/{group}", alice)["members"]}
        self.assertEqual(members, {alice.id: "member", carol.id: "owner"})
        self.assertIn(bob.id, {m["user_id"] for m in self.call("GET", f"/v1/conversations/{direct}", alice)["members"]})
        refused = self.call("POST", f"/v1/conversations/{direct}/messages", alice,
                            {"client_msg_id": "to-nobody", "text": "are you there?"}, expect=403)
        self.assertEqual(h.error_of(refused)[1], "this account was erased")

        # What others see of him, and what they can no longer do with him.
        shown = self.call("GET", f"/v1/users/{bob.id}", alice)
        self.assertEqual(shown, {"user_id": bob.id, "handle": f"~erased-{bob.id}", "erased": True})
        self.call("GET", f"/v1/users/{bob.handle}", alice, expect=404)
        self.call("POST", "/v1/conversations", carol, {"kind": "direct", "peer_id": bob.id}, expect=404)
        self.call("POST", f"/v1/conversations/{group}/members", carol, {"user_ids": [bob.id]}, expect=404)
        self.assertNotIn(bob.id, [b["user_id"] for b in self.call("GET", "/v1/me/blocks", carol)["blocked"]])
        reports = {r["report_id"]: r for r in self.call("GET", "/admin/v1/reports?state=all", self.boss)["reports"]}
        self.assertEqual(reports[reported["report_id"]]["message_text"], "")
        # No operator brings the account back.
        self.call("DELETE", f"/admin/v1/users/{bob.id}/suspend", self.boss, expect=409)
        self.call("PUT", f"/admin/v1/users/{bob.id}/password", self.boss, {"password": "a new password 1"}, expect=409)
        self.call("PUT", f"/admin/v1/users/{bob.id}/role", self.boss, {"role": "admin"}, expect=409)
        # His handle is free again.
        self.assertEqual(self.server.register(bob.handle, "another-password-1")[0], 200)

        # The audit log keeps the call; the words leave the files and the
        # uploads go with their objects.
        audit = self.call("GET", f"/admin/v1/audit?action=admin.users.erase&target={bob.id}", self.boss)["entries"]
        self.assertEqual([e["outcome"] for e in audit], ["ok", "started"])
        self.assertTrue(self.wait_until_gone(marker), "the erased words are still in the data directory")
        self.call("GET", f"/v1/uploads/{unattached}", self.boss, expect=404)

        # Again: nothing left to do, and it says so.
        again = self.call("DELETE", f"/admin/v1/users/{bob.id}", self.boss)
        self.assertEqual((again["messages_erased"], again["conversations_left"]), (0, 0))
        # An export now holds the bare account and the record of the erasure.
        left_of_him = self.call("GET", f"/admin/v1/users/{bob.id}/export", self.boss)
        self.assertEqual((left_of_him["sessions"], left_of_him["uploads"]), ([], []))
        self.assertEqual([(c["conversation_id"], c["reactions"]) for c in left_of_him["conversations"]],
                         [(direct, [])])  # a member still, with nothing of his
        self.assertEqual(self.call("GET", f"/admin/v1/users/{bob.id}/export/messages?conversation_id={direct}",
                                   self.boss), {"messages": []})
        self.assertTrue(left_of_him["account"]["erased"])
        self.assertIn("admin.users.erase", [e["action"] for e in left_of_him["audit"]])
        self.assertNotIn(words, str(left_of_him))

    def test_an_export_holds_what_is_theirs_and_nothing_of_others(self):
        alice, bob, carol = (self.server.new_user("ex") for _ in range(3))
        self.server.relogin(bob, "tablet")
        self.call("PATCH", "/v1/me/profile", bob, {"display_name": "Bob Exported"})
        group = self.call("POST", "/v1/conversations", bob, {"kind": "group", "members": [alice.id]})["id"]
        kept = [self.send(bob, group, f"bob's words {i}") for i in range(2)]
        gone = self.send(bob, group, "bob's deleted words")
        self.call("DELETE", f"/v1/conversations/{group}/messages/{gone['seq']}", bob)
        hers = self.send(alice, group, "alice's own words")
        self.call("PUT", f"/v1/conversations/{group}/messages/{hers['seq']}/reactions", bob, {"emoji": "🎉"})
        self.call("PUT", f"/v1/me/blocks/{carol.id}", bob)
        self.call("POST", "/v1/reports", bob, {"user_id": carol.id, "reason": "spam", "text": "bob's report"})
        self.call("POST", "/v1/reports", bob, {"conversation_id": group, "seq": hers["seq"], "reason": "other"})
        self.call("POST", f"/admin/v1/users/{bob.id}/revoke-sessions", self.boss)
        bob = self.server.relogin(bob, "test")
        self.server.relogin(bob, "tablet")
        left = self.call("POST", "/v1/conversations", alice, {"kind": "group", "members": [bob.id]})["id"]
        self.call("DELETE", f"/v1/conversations/{left}/members/{bob.id}", bob)
        media_id = self.upload(bob, b"bob's file " + os.urandom(32))
        self.call("PUT", "/v1/me/privacy", bob, {"group_adds": "nobody"})
        asked = self.call("POST", "/v1/conversations", alice, {"kind": "group", "members": [bob.id]})["id"]

        self.call("GET", f"/admin/v1/users/{bob.id}/export", alice, expect=403)
        self.call("GET", "/admin/v1/users/999999999/export", self.boss, expect=404)
        archive = self.call("GET", f"/admin/v1/users/{bob.id}/export", self.boss)
        self.assertEqual(archive["format"], "natter-export/1")
        account = archive["account"]
        self.assertEqual((account["user_id"], account["handle"], account["display_name"], account["group_adds"]),
                         (bob.id, bob.handle, "Bob Exported", "nobody"))
        self.assertNotIn("password_hash", str(archive))
        self.assertEqual(sorted(s["device"] for s in archive["sessions"] if not s["revoked"]), ["tablet", "test"])
        self.assertEqual([b["user_id"] for b in archive["blocked"]], [carol.id])
        self.assertEqual([(u["media_id"], u["state"]) for u in archive["uploads"]], [(media_id, "ready")])
        self.assertEqual([(r["user_id"], r["text"]) for r in archive["reports_filed"]],
                         [(carol.id, "bob's report"), (alice.id, "")])
        actions = [e["action"] for e in archive["audit"]]
        self.assertEqual(actions.count("auth.login"), 4)
        self.assertIn("auth.register", actions)
        self.assertFalse(archive["audit_truncated"])
        # Of the operator's call on him: what and when, not who or from where.
        revoked = [e for e in archive["audit"] if e["action"] == "admin.users.revoke_sessions"]
        self.assertEqual([sorted(e) for e in revoked], [["action", "at", "id", "outcome"]])
        conversations = {c["conversation_id"]: c for c in archive["conversations"]}
        self.assertEqual(set(conversations), {group, asked, left})
        mine = conversations[group]
        self.assertEqual(mine["role"], "owner")
        self.assertEqual(mine["reactions"], [{"seq": hers["seq"], "emoji": "🎉"}])
        self.assertEqual(conversations[asked]["invitation"]["invited_by"], alice.id)
        self.assertNotIn("role", conversations[asked])
        self.assertTrue(conversations[left]["left"])
        # Neither others' words (the message he reported is alice's) nor what he deleted.
        self.assertNotIn("alice's own words", str(archive))
        # His messages, a page at a time.
        pages, after = [], 0
        while True:
            page = self.call("GET", f"/admin/v1/users/{bob.id}/export/messages?conversation_id={group}"
                                    f"&after={after}&limit=1", self.boss)
            pages.append([m["text"] for m in page["messages"]])
            if "next" not in page:
                break
            after = page["next"]
        self.assertEqual(pages, [["bob's words 0"], ["bob's words 1"], []])
        self.assertNotIn("bob's deleted words", str(pages))
        self.call("GET", f"/admin/v1/users/{bob.id}/export/messages?conversation_id={group}", alice, expect=403)
        audit = self.call("GET", f"/admin/v1/audit?action=admin.users.export&target={bob.id}", self.boss)["entries"]
        self.assertEqual([e["outcome"] for e in audit], ["ok"])

    def history(self, user, cid):
        return self.call("GET", f"/v1/conversations/{cid}/messages?limit=100", user)["messages"]

    def test_the_words_stay_gone_after_a_restart(self):
        marker = "ERASE-" + os.urandom(6).hex()
        alice, bob = self.server.new_user("rs"), self.server.new_user("rs")
        group = self.call("POST", "/v1/conversations", bob, {"kind": "group", "members": [alice.id]})["id"]
        for i in range(20):
            self.send(bob, group, f"{marker} {i}")
        self.call("DELETE", f"/admin/v1/users/{bob.id}", self.boss)
        self.server.restart()
        self.assertTrue(self.wait_until_gone(marker.encode()))
        self.assertNotIn(marker, str(self.history(alice, group)))
        self.assertEqual(self.call("GET", f"/v1/users/{bob.id}", alice)["erased"], True)


if __name__ == "__main__":
    h.main()
