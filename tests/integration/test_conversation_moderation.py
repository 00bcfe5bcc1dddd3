"""Server moderators inside conversations (docs/admin.md "Conversations"): a
ban takes the user out (their socket hears of it), keeps them from being
added back until lifted, and is listed; a mute lets a member read but not
send, edit or react, until it ends or is lifted; direct chats have neither;
plain users may do neither; every call is audited."""
import os
import time

import natter_harness as h


class ConversationModeration(h.ServerTestCase):
    server_args = ("--admins", "boss", "--moderators", "mod")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.boss = cls.server.named_user("boss")
        cls.mod = cls.server.named_user("mod")

    def group(self, owner, *members):
        return self.call("POST", "/v1/conversations", owner, {"kind": "group", "members": [m.id for m in members]})["id"]

    def send(self, user, g, text, expect=200):
        return self.call("POST", f"/v1/conversations/{g}/messages", user,
                         {"client_msg_id": os.urandom(6).hex(), "text": text}, expect)

    async def test_a_banned_user_is_taken_out_and_kept_out_until_lifted(self):
        alice, spammer, bob = (self.server.new_user("ban") for _ in range(3))
        g = self.group(alice, spammer, bob)
        sockets = await self.ws(spammer)
        answer = self.call("PUT", f"/admin/v1/conversations/{g}/bans/{spammer.id}", self.mod, {"reason": "spam links"})
        self.assertEqual((answer["banned"], answer["removed"]), (True, True))
        removed = await sockets.wait_for(lambda f: f.get("type") == "message" and
                                         f["message"].get("kind") == "member_removed" and
                                         f["message"]["conversation_id"] == g)
        self.assertEqual((removed["message"]["target_user"], removed["message"]["sender_id"]), (spammer.id, self.mod.id))
        self.send(spammer, g, "still here?", expect=404)
        members = [m["user_id"] for m in self.call("GET", f"/v1/conversations/{g}", alice)["members"]]
        self.assertNotIn(spammer.id, members)
        refused = self.call("POST", f"/v1/conversations/{g}/members", alice, {"user_ids": [spammer.id]}, expect=403)
        self.assertIn("banned", h.error_of(refused)[1])
        bans = self.call("GET", f"/admin/v1/conversations/{g}/bans", self.mod)["bans"]
        self.assertEqual([(b["user_id"], b["banned_by"], b["reason"]) for b in bans],
                         [(spammer.id, self.mod.id, "spam links")])
        lifted = self.call("DELETE", f"/admin/v1/conversations/{g}/bans/{spammer.id}", self.mod)
        self.assertEqual(lifted["was_banned"], True)
        self.assertEqual(self.call("DELETE", f"/admin/v1/conversations/{g}/bans/{spammer.id}", self.mod)["was_banned"],
                         False)
        self.call("POST", f"/v1/conversations/{g}/members", alice, {"user_ids": [spammer.id]})
        self.send(spammer, g, "back, and behaving")

    async def test_banning_the_owner_passes_the_group_on(self):
        owner, bob = self.server.new_user("own"), self.server.new_user("own")
        g = self.group(owner, bob)
        self.call("PUT", f"/admin/v1/conversations/{g}/bans/{owner.id}", self.mod)
        roles = {m["user_id"]: m["role"] for m in self.call("GET", f"/v1/conversations/{g}", bob)["members"]}
        self.assertEqual(roles, {bob.id: "owner"})

    async def test_a_muted_member_reads_but_may_not_post_edit_or_react(self):
        alice, loud = self.server.new_user("mute"), self.server.new_user("mute")
        g = self.group(alice, loud)
        earlier = self.send(loud, g, "before the mute")
        mine = self.send(alice, g, "alice speaks")
        self.assertEqual(self.call("PUT", f"/admin/v1/conversations/{g}/mutes/{loud.id}", self.mod)["muted"], True)
        refused = self.send(loud, g, "let me talk", expect=403)
        self.assertIn("muted", h.error_of(refused)[1])
        self.call("PATCH", f"/v1/conversations/{g}/messages/{earlier['seq']}", loud, {"text": "edited"}, expect=403)
        self.call("PUT", f"/v1/conversations/{g}/messages/{mine['seq']}/reactions", loud, {"emoji": "👍"}, expect=403)
        page = self.call("GET", f"/v1/conversations/{g}/messages?limit=10", loud)  # reading goes on
        self.assertEqual([m["text"] for m in page["messages"] if m["kind"] == "message"],
                         ["before the mute", "alice speaks"])
        self.call("DELETE", f"/admin/v1/conversations/{g}/mutes/{loud.id}", self.mod)
        self.send(loud, g, "thank you")

    async def test_a_mute_outlives_leaving_and_coming_back(self):
        alice, loud = self.server.new_user("back"), self.server.new_user("back")
        g = self.group(alice, loud)
        self.call("PUT", f"/admin/v1/conversations/{g}/mutes/{loud.id}", self.mod)
        self.call("DELETE", f"/v1/conversations/{g}/members/{loud.id}", alice)  # a friendly owner
        self.call("POST", f"/v1/conversations/{g}/members", alice, {"user_ids": [loud.id]})
        self.send(loud, g, "am I back?", expect=403)
        self.call("DELETE", f"/v1/conversations/{g}/members/{loud.id}", alice)
        self.call("DELETE", f"/admin/v1/conversations/{g}/mutes/{loud.id}", self.mod)  # lifted while away
        self.call("POST", f"/v1/conversations/{g}/members", alice, {"user_ids": [loud.id]})
        self.send(loud, g, "back for real")

    async def test_an_invitation_made_before_a_ban_cannot_be_taken_up(self):
        alice, careful = self.server.new_user("inv"), self.server.new_user("inv")
        self.call("PUT", "/v1/me/privacy", careful, {"group_adds": "nobody"})
        g = self.group(alice, careful)
        self.assertEqual([i["conversation"]["id"] for i in self.call("GET", "/v1/me/invitations", careful)["invitations"]],
                         [g])
        answer = self.call("PUT", f"/admin/v1/conversations/{g}/bans/{careful.id}", self.mod)
        self.assertEqual(answer["removed"], False)
        self.call("POST", f"/v1/me/invitations/{g}/accept", careful, expect=404)
        self.assertEqual(self.call("GET", "/v1/me/invitations", careful)["invitations"], [])
        members = [m["user_id"] for m in self.call("GET", f"/v1/conversations/{g}", alice)["members"]]
        self.assertNotIn(careful.id, members)

    async def test_a_mute_with_an_end_ends_by_itself(self):
        alice, loud = self.server.new_user("tmute"), self.server.new_user("tmute")
        g = self.group(alice, loud)
        answer = self.call("PUT", f"/admin/v1/conversations/{g}/mutes/{loud.id}", self.mod, {"for_s": 1})
        self.assertIn("until", answer)
        self.send(loud, g, "too soon", expect=403)
        time.sleep(max(0.0, answer["until"] / 1000 - time.time()) + 0.3)
        self.send(loud, g, "now I may")

    async def test_direct_chats_strangers_and_plain_users(self):
        alice, bob = self.server.new_user("dm"), self.server.new_user("dm")
        direct = self.call("POST", "/v1/conversations", alice, {"kind": "direct", "peer_id": bob.id})
        d = direct["conversation"]["id"] if "conversation" in direct else direct["id"]
        self.call("PUT", f"/admin/v1/conversations/{d}/bans/{bob.id}", self.mod, expect=400)
        self.call("PUT", f"/admin/v1/conversations/{d}/mutes/{bob.id}", self.mod, expect=400)
        g = self.group(alice, bob)
        self.call("PUT", f"/admin/v1/conversations/{g}/bans/{bob.id}", alice, expect=403)  # the group's owner is no moderator
        self.call("PUT", f"/admin/v1/conversations/{g}/mutes/{self.boss.id}", self.mod, expect=404)  # not a member
        self.call("PUT", f"/admin/v1/conversations/{g}/bans/424242", self.mod, expect=404)  # no such user
        self.call("PUT", f"/admin/v1/conversations/{g}/mutes/{bob.id}", self.mod, {"for_s": -1}, expect=400)
        audit = self.call("GET", f"/admin/v1/audit?actor={self.mod.id}&limit=200", self.boss)["entries"]
        self.assertIn("admin.conversations.ban", [e["action"] for e in audit])
        self.assertIn("admin.conversations.mute", [e["action"] for e in audit])


if __name__ == "__main__":
    h.main()
