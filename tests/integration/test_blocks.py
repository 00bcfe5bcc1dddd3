"""Blocking a user: no direct messages, conversations, group additions,
typing or presence from them (and none of the blocker's presence for them);
the list of blocked users; a block survives a restart and ends with unblock."""
import asyncio
import os

import natter_harness as h


class Blocks(h.ServerTestCase):
    server_args = ("--presence-grace-ms", "200")
    def call(self, method, path, user, body=None, expect=200):
        status, answer = self.server.http(method, path, body, token=user.token)
        self.assertEqual(status, expect, answer)
        return answer

    def block(self, user, whom, expect=200):
        return self.call("PUT", f"/v1/me/blocks/{whom.id}", user, expect=expect)

    def unblock(self, user, whom):
        return self.call("DELETE", f"/v1/me/blocks/{whom.id}", user)

    def send(self, user, cid, text, expect=200):
        return self.call("POST", f"/v1/conversations/{cid}/messages", user,
                         {"client_msg_id": os.urandom(6).hex(), "text": text}, expect)

    def direct(self, user, peer, expect=200):
        return self.call("POST", "/v1/conversations", user, {"kind": "direct", "peer_id": peer.id}, expect)

    def group(self, owner, *members, expect=200):
        return self.call("POST", "/v1/conversations", owner,
                         {"kind": "group", "title": "g", "members": [m.id for m in members]}, expect)

    def presence(self, user, *of):
        answer = self.call("POST", "/v1/presence/query", user, {"user_ids": [u.id for u in of]})
        return {p["user_id"] for p in answer["presence"]}

    def test_a_blocked_user_writes_nothing_directly_until_unblocked(self):
        alice, stranger = self.server.new_user("blk"), self.server.new_user("blk")
        dm = self.direct(stranger, alice)["id"]
        self.send(stranger, dm, "hi there")
        self.assertEqual(self.block(alice, stranger), {"user_id": stranger.id, "blocked": True})
        self.block(alice, stranger)  # again: unchanged
        answer = self.send(stranger, dm, "why no answer?", expect=403)
        self.assertEqual(h.error_of(answer), ("forbidden", "this user does not accept messages from you"))
        self.assertIn("unblock", h.error_of(self.send(alice, dm, "go away", expect=403))[1])
        self.assertEqual(self.direct(stranger, alice)["id"], dm)  # found, still readable
        # A new direct conversation with someone who blocked you is not made.
        pest = self.server.new_user("blk")
        self.block(alice, pest)
        self.assertEqual(h.error_of(self.direct(pest, alice, expect=403))[0], "forbidden")
        self.assertEqual(h.error_of(self.direct(alice, pest, expect=403))[0], "forbidden")
        history = self.call("GET", f"/v1/conversations/{dm}/messages", alice)["messages"]
        self.assertEqual([m["text"] for m in history if m["kind"] == "message"], ["hi there"])
        listed = self.call("GET", "/v1/me/blocks", alice)["blocked"]
        self.assertEqual(sorted((b["user_id"], b["handle"]) for b in listed),
                         sorted([(pest.id, pest.handle), (stranger.id, stranger.handle)]))
        self.assertTrue(all(b["blocked_at"] > 0 for b in listed))
        self.assertEqual(self.call("GET", "/v1/me/blocks", stranger)["blocked"], [])
        # It lasts across a restart.
        self.server.restart()
        self.send(stranger, dm, "still?", expect=403)
        self.assertEqual(self.unblock(alice, stranger), {"user_id": stranger.id, "blocked": False})
        self.send(stranger, dm, "sorry")
        self.assertEqual([b["user_id"] for b in self.call("GET", "/v1/me/blocks", alice)["blocked"]], [pest.id])

    def test_nobody_is_put_into_a_group_by_someone_they_blocked(self):
        alice, stranger, friend = (self.server.new_user("grp") for _ in range(3))
        self.block(alice, stranger)
        answer = self.group(stranger, alice, expect=403)
        self.assertEqual(h.error_of(answer)[0], "forbidden")
        self.assertIn(str(alice.id), h.error_of(answer)[1])
        spam = self.group(stranger, friend)["id"]
        self.call("POST", f"/v1/conversations/{spam}/members", stranger, {"user_ids": [alice.id]}, expect=403)
        members = self.call("GET", f"/v1/conversations/{spam}", stranger)["members"]
        self.assertNotIn(alice.id, [m["user_id"] for m in members])
        # Someone else may put both in one group; there the stranger still writes
        # (the blocker's client hides it), and alice blocked only him.
        shared = self.group(friend, alice, stranger)["id"]
        self.send(stranger, shared, "hello all")
        self.send(alice, shared, "hello friend")

    async def test_edits_reactions_and_retries_after_a_block(self):
        alice, stranger = self.server.new_user("edt"), self.server.new_user("edt")
        dm = self.direct(stranger, alice)["id"]
        body = {"client_msg_id": "before-the-block", "text": "hi"}
        sent = self.call("POST", f"/v1/conversations/{dm}/messages", stranger, body)
        mine = self.send(alice, dm, "who are you?")
        self.call("PUT", f"/v1/conversations/{dm}/messages/{mine['seq']}/reactions", stranger, {"emoji": "+1"})
        # Over the WebSocket, `blocked` may be left out: it blocks.
        A = await self.ws(alice)
        self.assertEqual(await A.call("users.block", user_id=stranger.id), {"user_id": stranger.id, "blocked": True})
        self.call("PATCH", f"/v1/conversations/{dm}/messages/{sent['seq']}", stranger, {"text": "hi!!"}, expect=403)
        self.call("PUT", f"/v1/conversations/{dm}/messages/{mine['seq']}/reactions", stranger, {"emoji": "<3"},
                  expect=403)
        # Taking a reaction back, and deleting one's own message, stay allowed.
        self.call("DELETE", f"/v1/conversations/{dm}/messages/{mine['seq']}/reactions", stranger)
        self.call("DELETE", f"/v1/conversations/{dm}/messages/{sent['seq']}", stranger)
        # A retry of a message accepted before the block is answered as before.
        again = self.call("POST", f"/v1/conversations/{dm}/messages", stranger, body)
        self.assertEqual((again["seq"], again["duplicate"]), (sent["seq"], True))
        # The conversation that exists is still found; it stays readable.
        self.assertEqual(self.direct(stranger, alice)["id"], dm)
        self.assertEqual(self.direct(alice, stranger)["id"], dm)

    async def test_group_messages_of_a_blocked_user_are_flagged_for_the_blocker(self):
        alice, stranger, friend = (self.server.new_user("flg") for _ in range(3))
        g = self.group(friend, alice, stranger)["id"]
        self.block(alice, stranger)
        self.send(stranger, g, "spam")
        self.send(friend, g, "hello")

        def flagged(user):
            history = self.call("GET", f"/v1/conversations/{g}/messages", user)["messages"]
            return [(m["text"], m.get("blocked_sender", False)) for m in history if m["kind"] == "message"]
        self.assertEqual(flagged(alice), [("spam", True), ("hello", False)])
        self.assertEqual(flagged(friend), [("spam", False), ("hello", False)])
        # A batch naming someone who blocked the adder adds nobody.
        other, newcomer = self.server.new_user("flg"), self.server.new_user("flg")
        spam = self.group(stranger, other)["id"]
        answer = self.call("POST", f"/v1/conversations/{spam}/members", stranger,
                           {"user_ids": [newcomer.id, alice.id]}, expect=403)
        self.assertIn(str(alice.id), h.error_of(answer)[1])
        members = self.call("GET", f"/v1/conversations/{spam}", stranger)["members"]
        self.assertEqual(sorted(m["user_id"] for m in members), sorted([stranger.id, other.id]))

    def test_bad_requests(self):
        alice = self.server.new_user("bad")
        self.assertEqual(h.error_of(self.block(alice, alice, expect=400))[0], "bad_request")
        status, answer = self.server.http("PUT", "/v1/me/blocks/123456789", None, token=alice.token)
        self.assertEqual((status, h.error_of(answer)[0]), (404, "not_found"))
        status, _ = self.server.http("PUT", "/v1/me/blocks/123", None)
        self.assertEqual(status, 401)

    async def test_no_typing_or_presence_between_them(self):
        alice, stranger, friend = (self.server.new_user("typ") for _ in range(3))
        A, S, F = await self.ws(alice), await self.ws(stranger), await self.ws(friend)
        g = self.group(friend, alice, stranger)["id"]
        self.assertEqual(self.presence(alice, stranger, friend), {stranger.id, friend.id})
        self.block(alice, stranger)
        self.assertEqual(self.presence(alice, stranger, friend), {friend.id})
        self.assertEqual(self.presence(stranger, alice, friend), {friend.id})
        self.assertEqual(self.presence(friend, alice, stranger), {alice.id, stranger.id})
        await S.call("typing", conversation_id=g)
        frame = await F.event("typing", timeout=5)
        self.assertEqual(frame["user_id"], stranger.id)
        await A.call("typing", conversation_id=g)
        self.assertEqual((await F.event("typing", timeout=5))["user_id"], alice.id)
        await asyncio.sleep(0.3)
        self.assertEqual([f for f in A.frames if f.get("type") == "typing"], [])
        self.assertEqual([f for f in S.frames if f.get("type") == "typing"], [])
        # The stranger goes: the friend is told, alice is not.
        A.frames.clear()
        await S.close()
        self.clients.remove(S)
        await F.wait_for(lambda f: f.get("type") == "presence" and f.get("user_id") == stranger.id
                         and f.get("status") == "offline", timeout=10, what="the stranger's offline presence")
        await asyncio.sleep(0.5)
        self.assertEqual([f for f in A.frames if f.get("type") == "presence" and f["user_id"] == stranger.id], [])


if __name__ == "__main__":
    h.main()
