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
        self.direct(stranger, alice, expect=403)
        history = self.call("GET", f"/v1/conversations/{dm}/messages", alice)["messages"]
        self.assertEqual([m["text"] for m in history if m["kind"] == "message"], ["hi there"])
        listed = self.call("GET", "/v1/me/blocks", alice)["blocked"]
        self.assertEqual([(b["user_id"], b["handle"]) for b in listed], [(stranger.id, stranger.handle)])
        self.assertGreater(listed[0]["blocked_at"], 0)
        self.assertEqual(self.call("GET", "/v1/me/blocks", stranger)["blocked"], [])
        # It lasts across a restart.
        self.server.restart()
        self.send(stranger, dm, "still?", expect=403)
        self.assertEqual(self.unblock(alice, stranger), {"user_id": stranger.id, "blocked": False})
        self.send(stranger, dm, "sorry")
        self.assertEqual(self.call("GET", "/v1/me/blocks", alice)["blocked"], [])

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
        frame = await F.event("presence", timeout=10)
        self.assertEqual((frame["user_id"], frame["status"]), (stranger.id, "offline"))
        await asyncio.sleep(0.5)
        self.assertEqual([f for f in A.frames if f.get("type") == "presence" and f["user_id"] == stranger.id], [])


if __name__ == "__main__":
    h.main()
