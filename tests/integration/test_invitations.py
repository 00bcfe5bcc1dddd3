"""Consent to be put into a group: a stranger's addition is an invitation
that waits outside the conversation list until it is accepted or declined;
contacts (who share a group, or a direct chat they started or wrote in) are
added at once unless the user allows nobody; a user who left or declined is asked again before coming back."""
import os

import natter_harness as h


class Invitations(h.ServerTestCase):
    # The server's default, named because the harness otherwise lets anyone add anyone.
    server_args = ("--group-adds", "contacts")

    def call(self, method, path, user, body=None, expect=200):
        status, answer = self.server.http(method, path, body, token=user.token)
        self.assertEqual(status, expect, answer)
        return answer

    def group(self, owner, *members, title="g", kind="group", expect=200):
        return self.call("POST", "/v1/conversations", owner,
                         {"kind": kind, "title": title, "members": [m.id for m in members]}, expect)

    def add(self, adder, cid, *users, expect=200):
        return self.call("POST", f"/v1/conversations/{cid}/members", adder, {"user_ids": [u.id for u in users]},
                         expect)

    def send(self, user, cid, text, expect=200):
        return self.call("POST", f"/v1/conversations/{cid}/messages", user,
                         {"client_msg_id": os.urandom(6).hex(), "text": text}, expect)

    def invitations(self, user):
        return self.call("GET", "/v1/me/invitations", user)["invitations"]

    def listed(self, user):
        return [c["id"] for c in self.call("GET", "/v1/conversations", user)["conversations"]]

    def members(self, user, cid):
        return sorted(m["user_id"] for m in self.call("GET", f"/v1/conversations/{cid}", user)["members"])

    async def test_a_strangers_group_ends_with_a_declined_invitation(self):
        alice, mallory = self.server.new_user("inv"), self.server.new_user("inv")
        phone, tablet = await self.ws(alice), await self.ws(alice)
        made = self.group(mallory, alice, title="FREE CRYPTO")
        spam = made["id"]
        self.assertEqual(made["invited"], [alice.id])
        self.assertEqual([m["user_id"] for m in made["members"]], [mallory.id])
        # Alice hears of an invitation, not of a conversation.
        event = (await phone.event("invitation"))["invitation"]
        self.assertEqual((event["conversation"]["id"], event["conversation"]["title"]), (spam, "FREE CRYPTO"))
        self.assertEqual((event["invited_by"], event["role"], event["members"]), (mallory.id, "member", 1))
        self.send(mallory, spam, "buy now!!!")
        await phone.expect_no_event("message", within=0.3)
        self.assertEqual(phone.events("conversation"), [])
        self.assertNotIn(spam, self.listed(alice))
        synced = self.call("GET", "/v1/sync", alice)
        self.assertNotIn(spam, [c["id"] for c in synced["conversations"]])
        self.call("GET", f"/v1/conversations/{spam}/messages", alice, expect=404)
        self.send(alice, spam, "can I?", expect=404)
        # The invitation waits across a restart.
        await phone.close()
        await tablet.close()
        self.server.restart()
        tablet = await self.ws(alice)
        pending = self.invitations(alice)
        self.assertEqual([(i["conversation"]["id"], i["invited_by"]) for i in pending], [(spam, mallory.id)])
        # Declined over HTTP: her other device is told, and it is gone.
        declined = self.call("POST", f"/v1/me/invitations/{spam}/decline", alice)
        self.assertEqual(declined, {"conversation_id": spam, "declined": True})
        closed = await tablet.event("invitation_closed")
        self.assertEqual((closed["conversation_id"], closed["outcome"]), (spam, "declined"))
        self.assertEqual(self.invitations(alice), [])
        self.call("POST", f"/v1/me/invitations/{spam}/decline", alice, expect=404)
        self.call("POST", f"/v1/me/invitations/{spam}/accept", alice, expect=404)
        # Re-adding her is a new invitation, never a membership.
        again = self.add(mallory, spam, alice)
        self.assertEqual(again["invited"], [alice.id])
        self.assertEqual(self.members(mallory, spam), [mallory.id])
        await tablet.event("invitation")
        self.assertEqual(len(self.invitations(alice)), 1)
        self.add(mallory, spam, alice)  # once more: the waiting one is not told again
        await tablet.expect_no_event("invitation", within=0.3)
        self.call("POST", f"/v1/me/invitations/{spam}/decline", alice)
        # Blocked, he cannot even invite.
        self.call("PUT", f"/v1/me/blocks/{mallory.id}", alice)
        self.add(mallory, spam, alice, expect=403)
        self.assertEqual(self.invitations(alice), [])

    async def test_accepting_joins_with_the_role_offered(self):
        alice, mallory, bystander = (self.server.new_user("acc") for _ in range(3))
        chan = self.group(mallory, alice, kind="channel", title="news")["id"]
        self.send(mallory, chan, "first post")
        M = await self.ws(mallory)
        A = await self.ws(alice)
        self.assertEqual((await A.error("invitations.accept", conversation_id=chan + 1))["code"],
                         "not_found")
        self.call("POST", f"/v1/me/invitations/{chan}/accept", bystander, expect=404)
        joined = await A.call("invitations.accept", conversation_id=chan)
        self.assertEqual(joined["id"], chan)
        me = [m for m in joined["members"] if m["user_id"] == alice.id]
        self.assertEqual(me[0]["role"], "member")  # a channel's members read; only admins post
        event = await M.event("message", predicate=lambda f: f["message"]["kind"] == "member_joined")
        self.assertEqual((event["message"]["sender_id"], event["message"]["target_user"]), (mallory.id, alice.id))
        self.assertIn(chan, self.listed(alice))
        history = self.call("GET", f"/v1/conversations/{chan}/messages", alice)["messages"]
        self.assertIn("first post", [m["text"] for m in history])
        self.send(alice, chan, "me too?", expect=403)
        self.assertEqual(self.invitations(alice), [])
        # The role named by members.add is the one taken up.
        g = self.group(mallory)["id"]
        self.call("POST", f"/v1/conversations/{g}/members", mallory, {"user_ids": [bystander.id], "role": "read_only"})
        joined = self.call("POST", f"/v1/me/invitations/{g}/accept", bystander)
        self.assertIn({"user_id": bystander.id, "role": "read_only"},
                      [{"user_id": m["user_id"], "role": m["role"]} for m in joined["members"]])

    def test_a_direct_chat_counts_once_its_peer_answers(self):
        """Anyone may open a direct chat with anyone: that alone makes no contact."""
        alice, stranger = self.server.new_user("dm"), self.server.new_user("dm")
        dm = self.call("POST", "/v1/conversations", stranger, {"kind": "direct", "peer_id": alice.id})["id"]
        self.send(stranger, dm, "hi! join my group")
        self.assertEqual(self.group(stranger, alice)["invited"], [alice.id])
        self.send(alice, dm, "who are you?")  # she answered: she is in touch with him now
        self.assertNotIn("invited", self.group(stranger, alice))

    def test_contacts_join_at_once_unless_they_allow_nobody(self):
        alice, bob, carol, stranger = (self.server.new_user("con") for _ in range(4))
        self.call("POST", "/v1/conversations", alice, {"kind": "direct", "peer_id": bob.id})  # she started it
        self.assertEqual(self.call("GET", "/v1/me/privacy", alice), {"group_adds": "contacts"})
        made = self.group(bob, alice, carol)
        self.assertEqual(self.members(bob, made["id"]), sorted([alice.id, bob.id]))
        self.assertEqual(made["invited"], [carol.id])  # a stranger to bob
        # Nobody: even a contact asks first.
        self.assertEqual(self.call("PUT", "/v1/me/privacy", alice, {"group_adds": "nobody"}),
                         {"group_adds": "nobody"})
        self.assertEqual(self.group(bob, alice)["invited"], [alice.id])
        # Everyone: a stranger adds at once.
        self.call("PUT", "/v1/me/privacy", carol, {"group_adds": "everyone"})
        self.assertNotIn("invited", self.group(stranger, carol))
        self.assertEqual(self.call("GET", "/v1/me/privacy", carol), {"group_adds": "everyone"})
        status, answer = self.server.http("PUT", "/v1/me/privacy", {"group_adds": "friends"}, token=alice.token)
        self.assertEqual((status, h.error_of(answer)[0]), (400, "bad_request"))
        self.assertEqual(self.call("GET", "/v1/me/privacy", alice), {"group_adds": "nobody"})
        status, _ = self.server.http("GET", "/v1/me/invitations", None)
        self.assertEqual(status, 401)

    def test_who_left_is_asked_before_coming_back(self):
        alice, bob = self.server.new_user("lft"), self.server.new_user("lft")
        self.call("POST", "/v1/conversations", alice, {"kind": "direct", "peer_id": bob.id})
        g = self.group(bob, alice)["id"]
        self.assertIn(alice.id, self.members(bob, g))
        status, _ = self.server.http("DELETE", f"/v1/conversations/{g}/members/{alice.id}", None, token=alice.token)
        self.assertEqual(status, 200)
        self.assertEqual(self.add(bob, g, alice)["invited"], [alice.id])
        self.assertNotIn(alice.id, self.members(bob, g))
        self.call("POST", f"/v1/me/invitations/{g}/accept", alice)
        self.assertIn(alice.id, self.members(bob, g))
        # Removed by an admin is not her choice: she may be put back.
        status, _ = self.server.http("DELETE", f"/v1/conversations/{g}/members/{alice.id}", None, token=bob.token)
        self.assertEqual(status, 200)
        self.assertNotIn("invited", self.add(bob, g, alice))
        self.assertIn(alice.id, self.members(bob, g))


if __name__ == "__main__":
    h.main()
