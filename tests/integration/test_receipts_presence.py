"""Receipts, typing, presence and the rules of edit / delete / react against a
real natterd: delivered and read watermarks (forward only, bounded by
last_seq, live to members of small conversations, to one's own devices only in
large ones, counted by receipts.get), two devices of one user converging, typing
notices and their rate limit, presence with a grace period, privacy and
hiding, who may edit, delete and react, and the edit window."""

import asyncio
import itertools
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import natter_harness as h  # noqa: E402
from natter_harness import Device, WsClient  # noqa: E402

_ids = itertools.count(1)
GRACE_MS = 500
EDIT_WINDOW_MS = 500


async def send(client, cid, text="hi", **kw):
    return await client.call("messages.send", conversation_id=cid, client_msg_id=f"r{next(_ids)}",
                             text=text, **kw)


def receipt_tuple(frame):
    return (frame["conversation_id"], frame["user_id"], frame["delivered_seq"], frame["read_seq"])


class Base(h.ServerTestCase):

    async def drop(self, client):
        await client.close()
        if client in self.clients:
            self.clients.remove(client)

    def users(self, n, prefix="r"):
        return [self.server.new_user(prefix) for _ in range(n)]

    async def expect_error(self, client, code, method, **params):
        frame = await client.error(method, **params)
        self.assertEqual(frame["code"], code, frame)
        return frame

    def members(self, conv):
        return {m["user_id"]: m for m in conv["members"]}

    async def no_frames(self, client, kind, within=0.4):
        await asyncio.sleep(within)
        stray = [f for f in client.frames if f.get("type") == kind]
        self.assertEqual(stray, [], f"unexpected {kind} frames")


class ReceiptsTest(Base):
    server_args = ("--large-conversation-members", "3")

    async def test_delivered_then_read_in_order_and_bounds(self):
        a, b, stranger = self.users(3, "rcpt")
        A, B, S = await self.ws(a), await self.ws(b), await self.ws(stranger)
        dm = (await A.call("conversations.create", kind="direct", peer_id=b.id))["id"]
        for i in range(3):
            await send(A, dm, f"m{i}")
        ans = await B.call("messages.delivered", conversation_id=dm, seq=2)
        # A change: the answer carries b's new pts (b's socket gets no event for it).
        b_pts = [ans.pop("pts")]
        self.assertEqual(ans, {"conversation_id": dm, "user_id": b.id, "delivered_seq": 2, "read_seq": 0})
        ans = await B.call("messages.read", conversation_id=dm, seq=1)
        self.assertEqual((ans["delivered_seq"], ans["read_seq"]), (2, 1))
        b_pts.append(ans["pts"])
        ans = await B.call("messages.read", conversation_id=dm, seq=3)  # read implies delivered
        self.assertEqual((ans["delivered_seq"], ans["read_seq"]), (3, 3))
        b_pts.append(ans["pts"])
        self.assertEqual(b_pts, [b_pts[0], b_pts[0] + 1, b_pts[0] + 2])
        got, a_pts = [], []
        for _ in range(3):
            frame = await A.event("receipt", timeout=5)
            self.assertIsInstance(frame.get("pts"), int, frame)
            a_pts.append(frame["pts"])
            got.append(receipt_tuple(frame))
        self.assertEqual(got, [(dm, b.id, 2, 0), (dm, b.id, 2, 1), (dm, b.id, 3, 3)])
        self.assertEqual(a_pts, [a_pts[0], a_pts[0] + 1, a_pts[0] + 2])
        await self.no_frames(B, "receipt", within=0.1)  # the marking connection has its answer

        # Backwards: ignored, the answer shows what is stored, nobody is told.
        ans = await B.call("messages.read", conversation_id=dm, seq=2)
        self.assertEqual(ans, {"conversation_id": dm, "user_id": b.id, "delivered_seq": 3, "read_seq": 3})
        ans = await B.call("messages.delivered", conversation_id=dm, seq=1)
        self.assertEqual(ans, {"conversation_id": dm, "user_id": b.id, "delivered_seq": 3, "read_seq": 3})
        # Past the last event (or negative): refused, nothing stored.
        for method, seq in (("messages.read", 4), ("messages.delivered", 4), ("messages.read", 10 ** 9),
                            ("messages.delivered", -1)):
            await self.expect_error(B, "bad_request", method, conversation_id=dm, seq=seq)
        status, body = self.server.http("POST", f"/v1/conversations/{dm}/read", {"seq": 99}, token=b.token)
        self.assertEqual((status, h.error_of(body)[0]), (400, "bad_request"), body)
        await self.no_frames(A, "receipt")
        conv = await A.call("conversations.get", conversation_id=dm)
        self.assertEqual((self.members(conv)[b.id]["delivered_seq"], self.members(conv)[b.id]["read_seq"]), (3, 3))
        # (The sender has read what it sent.)
        self.assertEqual((self.members(conv)[a.id]["delivered_seq"], self.members(conv)[a.id]["read_seq"]), (3, 3))
        # A stranger cannot mark or count.
        await self.expect_error(S, "not_found", "messages.read", conversation_id=dm, seq=1)
        await self.expect_error(S, "not_found", "receipts.get", conversation_id=dm, seq=1)

        # Over HTTP: a's delivered watermark; b hears it.
        await send(B, dm, "m3")
        status, body = self.server.http("POST", f"/v1/conversations/{dm}/delivered", {"seq": 4}, token=a.token)
        self.assertEqual(status, 200, body)
        self.assertIsInstance(body.pop("pts", None), int, body)
        self.assertEqual(body, {"conversation_id": dm, "user_id": a.id, "delivered_seq": 4, "read_seq": 3})
        frame = await B.event("receipt", timeout=5)
        self.assertEqual(receipt_tuple(frame), (dm, a.id, 4, 3))
        counts = await B.call("receipts.get", conversation_id=dm, seq=4)
        self.assertEqual(counts, {"seq": 4, "members": 1, "delivered": 1, "read": 0})
        status, body = self.server.http("GET", f"/v1/conversations/{dm}/receipts?seq=3", token=a.token)
        self.assertEqual((status, body), (200, {"seq": 3, "members": 1, "delivered": 1, "read": 1}))
        await self.expect_error(A, "bad_request", "receipts.get", conversation_id=dm, seq=0)
        await self.expect_error(A, "bad_request", "receipts.get", conversation_id=dm, seq=5)

    async def test_two_devices_of_one_user_converge(self):
        a, b = self.users(2, "twin")
        b2_user = self.server.relogin(b, "tablet")
        A = await self.ws(a)
        b1 = Device(self.server, b, "b-phone")
        b2 = Device(self.server, b2_user, "b-tablet")
        self.devices += [b1, b2]
        await b1.connect()
        await b2.connect()
        dm = (await A.call("conversations.create", kind="direct", peer_id=b.id))["id"]
        for i in range(4):
            await send(A, dm, f"m{i}")
        await b1.sync(token=None)
        await b2.sync(token=None)
        ans = await b1.client.call("messages.read", conversation_id=dm, seq=2)
        self.assertEqual((ans["delivered_seq"], ans["read_seq"]), (2, 2))
        # The other device hears it live, and so does the sender.
        frame = await b2.client.wait_for(lambda f: f.get("type") == "receipt", timeout=5, what="receipt")
        self.assertEqual(receipt_tuple(frame), (dm, b.id, 2, 2))
        await b2.pump()
        self.assertEqual(b2.convs[dm].members[b.id]["read_seq"], 2)
        frame = await A.event("receipt", timeout=5)
        self.assertEqual(receipt_tuple(frame), (dm, b.id, 2, 2))

        async def unread(client):
            listing = await client.call("conversations.list")
            return {c["id"]: (c["unread"], c["read_seq"]) for c in listing["conversations"]}[dm]

        self.assertEqual(await unread(b1.client), (2, 2))
        self.assertEqual(await unread(b2.client), (2, 2))

        # The tablet is away while the phone reads on and a new message arrives.
        await b2.pump()
        await b2.disconnect()
        await b1.client.call("messages.read", conversation_id=dm, seq=4)
        await send(A, dm, "m4")
        await b2.connect()
        ans = await b2.sync()
        self.assertEqual(ans["type"], "result", ans)
        entries = {e["conversation_id"]: e for e in b2.sync_results[-1][1]}
        self.assertIn(dm, entries)
        mine = self.members(entries[dm])[b.id]
        self.assertEqual((mine["read_seq"], mine["delivered_seq"]), (4, 4))
        self.assertEqual(b2.convs[dm].members[b.id]["read_seq"], 4)
        self.assertEqual(b2.convs[dm].max_seq(), 5)
        self.assertEqual(await unread(b1.client), (1, 4))
        self.assertEqual(await unread(b2.client), (1, 4))
        # A watermark change alone (no new event) also reaches a resuming device.
        await b2.disconnect()
        await b1.client.call("messages.read", conversation_id=dm, seq=5)
        await b2.connect()
        await b2.sync()
        entries = {e["conversation_id"]: e for e in b2.sync_results[-1][1]}
        self.assertEqual(list(entries), [dm])
        self.assertEqual(entries[dm]["events"], [])
        self.assertEqual(self.members(entries[dm])[b.id]["read_seq"], 5)
        self.assertEqual(await unread(b2.client), (0, 5))

    async def test_large_group_counts_and_no_live_receipts_to_others(self):
        owner, m1, m2, m3 = self.users(4, "big")
        m1b_user = self.server.relogin(m1, "m1-second")
        O, M1, M2, M3 = [await self.ws(u) for u in (owner, m1, m2, m3)]
        M1b = await self.ws(m1b_user)
        conv = await O.call("conversations.create", kind="group", title="big",
                            members=[m1.id, m2.id, m3.id])
        gid = conv["id"]
        self.assertTrue(conv["large"], conv)  # 4 members > --large-conversation-members 3
        await send(O, gid, "one")
        await send(O, gid, "two")
        await M1.call("messages.delivered", conversation_id=gid, seq=2)
        await M2.call("messages.read", conversation_id=gid, seq=1)
        self.assertEqual(await O.call("receipts.get", conversation_id=gid, seq=1),
                         {"seq": 1, "members": 3, "delivered": 2, "read": 1})
        self.assertEqual(await O.call("receipts.get", conversation_id=gid, seq=2),
                         {"seq": 2, "members": 3, "delivered": 1, "read": 0})
        status, body = self.server.http("GET", f"/v1/conversations/{gid}/receipts?seq=1", token=owner.token)
        self.assertEqual((status, body), (200, {"seq": 1, "members": 3, "delivered": 2, "read": 1}))
        # m1's other device follows m1's watermark; nobody else hears receipts.
        frame = await M1b.event("receipt", timeout=5)
        self.assertEqual(receipt_tuple(frame), (gid, m1.id, 2, 0))
        for other in (O, M2, M3):
            await self.no_frames(other, "receipt", within=0.2)
        await self.no_frames(M1b, "receipt", within=0.0)
        # A small group, for contrast: everyone hears.
        small = (await O.call("conversations.create", kind="group", title="small",
                              members=[m1.id, m2.id]))["id"]
        await send(O, small, "hi")
        await M2.call("messages.read", conversation_id=small, seq=1)
        for other in (O, M1, M1b):
            frame = await other.event("receipt", timeout=5)
            self.assertEqual(receipt_tuple(frame), (small, m2.id, 1, 1))
        self.assertEqual(await O.call("receipts.get", conversation_id=small, seq=1),
                         {"seq": 1, "members": 2, "delivered": 1, "read": 1})


class TypingTest(Base):
    server_args = ("--large-conversation-members", "3")

    async def test_typing_reaches_others_and_is_limited(self):
        a, b, c, outsider = self.users(4, "typ")
        A, B, C = await self.ws(a), await self.ws(b), await self.ws(c)
        A2 = await self.ws(self.server.relogin(a, "second"))  # the typist's other device
        g = (await A.call("conversations.create", kind="group", title="t", members=[b.id, c.id]))["id"]
        ans = await A.call("typing", conversation_id=g)
        self.assertEqual(ans, {"conversation_id": g})
        for other in (B, C):
            frame = await other.event("typing", timeout=5)
            self.assertEqual((frame["conversation_id"], frame["user_id"]), (g, a.id))
            self.assertIsInstance(frame.get("expires_in_ms"), int)
            self.assertGreater(frame["expires_in_ms"], 0)
        await self.no_frames(A, "typing", within=0.1)
        await self.no_frames(A2, "typing", within=0.0)
        # Burst 3: two more pass, the fourth is refused; nothing is sent for it.
        await A.call("typing", conversation_id=g)
        await A.call("typing", conversation_id=g)
        for other in (B, C):
            for _ in range(2):
                await other.event("typing", timeout=5)
        await self.expect_error(A, "rate_limited", "typing", conversation_id=g)
        await self.no_frames(B, "typing", within=0.3)
        # Other requests on that connection are not affected.
        await send(A, g, "still allowed")
        # Not a member: not_found (on a fresh connection, so the limit is not what answers).
        O = await self.ws(outsider)
        await self.expect_error(O, "not_found", "typing", conversation_id=g)
        await self.expect_error(O, "not_found", "typing", conversation_id=123456789)
        await self.no_frames(B, "typing", within=0.2)
        # Over HTTP.
        status, body = self.server.http("POST", f"/v1/conversations/{g}/typing", token=b.token)
        self.assertEqual((status, body), (200, {"conversation_id": g}))
        for other in (A, C):
            frame = await other.event("typing", timeout=5)
            self.assertEqual((frame["conversation_id"], frame["user_id"]), (g, b.id))
        # In a large conversation the notice is accepted but goes to nobody.
        d = self.server.new_user("typ")
        D = await self.ws(d)
        big = (await B.call("conversations.create", kind="group", title="big",
                            members=[a.id, c.id, d.id]))["id"]
        self.assertEqual(await B.call("typing", conversation_id=big), {"conversation_id": big})
        for other in (A, C, D):
            await self.no_frames(other, "typing", within=0.2)


class PresenceTest(Base):
    server_args = ("--presence-grace-ms", str(GRACE_MS), "--large-conversation-members", "3")

    async def presence_frames(self, client, user_id):
        return [f for f in client.frames if f.get("type") == "presence" and f.get("user_id") == user_id]

    async def test_a_large_conversation_shares_no_presence(self):
        # Being in a channel (or a group past the large threshold) with someone
        # tells neither of you the other's presence: not pushed, not answered.
        owner, m1, m2, m3 = self.users(4, "chan")
        O = await self.ws(owner)
        conv = await O.call("conversations.create", kind="group", title="big",
                            members=[m1.id, m2.id, m3.id])
        self.assertTrue(conv["large"], conv)
        M1 = await self.ws(m1)
        self.assertEqual((await O.call("presence.get", user_ids=[m1.id, m2.id]))["presence"], [])
        self.assertEqual((await M1.call("presence.get", user_ids=[owner.id]))["presence"], [])
        status, body = self.server.http("POST", "/v1/presence/query", {"user_ids": [m1.id]}, token=owner.token)
        self.assertEqual((status, body), (200, {"presence": []}))
        # A small conversation between the same two does share it.
        await O.call("conversations.create", kind="direct", peer_id=m1.id)
        self.assertEqual((await O.call("presence.get", user_ids=[m1.id]))["presence"],
                         [{"user_id": m1.id, "status": "online"}])

    async def test_online_offline_grace_and_privacy(self):
        a, b, c = self.users(3, "pres")
        B = await self.ws(b)
        C = await self.ws(c)  # shares nothing with a
        status, _ = self.server.http("POST", "/v1/conversations", {"kind": "direct", "peer_id": b.id},
                                     token=a.token)
        self.assertEqual(status, 200)
        A = await self.ws(a)
        frame = await B.wait_for(lambda f: f.get("type") == "presence" and f.get("user_id") == a.id,
                                 timeout=5, what="a online")
        self.assertEqual(frame["status"], "online")
        self.assertEqual((await B.call("presence.get", user_ids=[a.id]))["presence"],
                         [{"user_id": a.id, "status": "online"}])
        # c sees nothing of a, and asking about a (or nobody) is silently empty.
        self.assertEqual((await C.call("presence.get", user_ids=[a.id, 987654321]))["presence"], [])
        status, body = self.server.http("POST", "/v1/presence/query", {"user_ids": [a.id]}, token=c.token)
        self.assertEqual((status, body), (200, {"presence": []}))
        # b asking about c (no shared conversation) gets nothing for c either.
        self.assertEqual((await B.call("presence.get", user_ids=[c.id, a.id]))["presence"],
                         [{"user_id": a.id, "status": "online"}])

        # a leaves: offline only after the grace period, with last_seen.
        before = time.time() * 1000
        closed_at = time.monotonic()
        await self.drop(A)
        frame = await B.wait_for(lambda f: f.get("type") == "presence" and f.get("user_id") == a.id,
                                 timeout=5, what="a offline")
        waited = time.monotonic() - closed_at
        self.assertEqual(frame["status"], "offline", frame)
        self.assertGreaterEqual(waited, GRACE_MS / 1000 * 0.8, "offline announced before the grace period")
        self.assertLess(waited, GRACE_MS / 1000 + 3)
        self.assertIsInstance(frame.get("last_seen"), int, frame)
        self.assertGreaterEqual(frame["last_seen"], before - 1000)
        self.assertLessEqual(frame["last_seen"], time.time() * 1000 + 1000)
        got = (await B.call("presence.get", user_ids=[a.id]))["presence"]
        self.assertEqual(got, [{"user_id": a.id, "status": "offline", "last_seen": frame["last_seen"]}])
        status, body = self.server.http("POST", "/v1/presence/query", {"user_ids": [a.id]}, token=b.token)
        self.assertEqual((status, body["presence"]), (200, got))

        # Back: online; then a quick reconnect inside the grace period does not flap.
        A = await self.ws(a)
        frame = await B.wait_for(lambda f: f.get("type") == "presence" and f.get("user_id") == a.id,
                                 timeout=5, what="a online again")
        self.assertEqual(frame["status"], "online")
        dropped_at = time.monotonic()
        await self.drop(A)
        await asyncio.sleep(0.05)
        A = await self.ws(a)
        self.assertLess(time.monotonic() - dropped_at, GRACE_MS / 1000 * 0.8, "the reconnect itself was slow")
        await asyncio.sleep(GRACE_MS / 1000 + 0.7)
        self.assertEqual(await self.presence_frames(B, a.id), [], "a quick reconnect flapped")
        self.assertEqual((await B.call("presence.get", user_ids=[a.id]))["presence"][0]["status"], "online")
        # A second device coming and going changes nothing either.
        A2 = await self.ws(self.server.relogin(a, "second"))
        await self.drop(A2)
        await asyncio.sleep(GRACE_MS / 1000 + 0.5)
        self.assertEqual(await self.presence_frames(B, a.id), [])
        self.assertEqual(await self.presence_frames(C, a.id), [], "c shares nothing with a but was told")
        await self.drop(A)
        await B.wait_for(lambda f: f.get("type") == "presence" and f.get("user_id") == a.id
                         and f["status"] == "offline", timeout=5, what="a offline again")
        self.assertEqual([f for f in C.frames if f.get("type") == "presence"], [])

    async def test_hidden_user_is_not_announced(self):
        a, b = self.users(2, "hide")
        B = await self.ws(b)
        await B.call("conversations.create", kind="direct", peer_id=a.id)
        A = await self.ws(a)
        await B.wait_for(lambda f: f.get("type") == "presence" and f.get("user_id") == a.id
                         and f["status"] == "online", timeout=5, what="a online")
        self.assertEqual(await A.call("presence.set", hidden=True), {"hidden": True})
        # Contacts are told once: "hidden", with no last_seen.
        frame = await B.wait_for(lambda f: f.get("type") == "presence" and f.get("user_id") == a.id,
                                 timeout=5, what="a hidden")
        self.assertEqual(frame, {"type": "presence", "user_id": a.id, "status": "hidden"})
        await asyncio.sleep(0.2)
        self.assertEqual(await self.presence_frames(B, a.id), [])
        self.assertEqual((await B.call("presence.get", user_ids=[a.id]))["presence"],
                         [{"user_id": a.id, "status": "hidden"}])
        # Coming and going while hidden: no announcement at all.
        await self.drop(A)
        await asyncio.sleep(GRACE_MS / 1000 + 0.6)
        A = await self.ws(a)
        await asyncio.sleep(0.4)
        self.assertEqual(await self.presence_frames(B, a.id), [], "a hidden user was announced")
        self.assertEqual((await B.call("presence.get", user_ids=[a.id]))["presence"],
                         [{"user_id": a.id, "status": "hidden"}])
        await self.expect_error(A, "bad_request", "presence.set", hidden="yes")
        # Visible again (over HTTP): b is told a is online.
        status, body = self.server.http("PUT", "/v1/me/presence", {"hidden": False}, token=a.token)
        self.assertEqual((status, body), (200, {"hidden": False}))
        frame = await B.wait_for(lambda f: f.get("type") == "presence" and f.get("user_id") == a.id,
                                 timeout=5, what="a visible")
        self.assertEqual(frame["status"], "online")
        self.assertEqual((await B.call("presence.get", user_ids=[a.id]))["presence"],
                         [{"user_id": a.id, "status": "online"}])


class MessageRulesTest(Base):
    server_args = ("--edit-window-ms", str(EDIT_WINDOW_MS))

    async def test_edit_delete_react_rules(self):
        owner, admin, member, other = self.users(4, "rule")
        O, AD, M, X = [await self.ws(u) for u in (owner, admin, member, other)]
        g = (await O.call("conversations.create", kind="group", title="rules",
                          members=[admin.id, member.id]))["id"]
        await O.call("members.set_role", conversation_id=g, user_id=admin.id, role="admin")
        dm = (await M.call("conversations.create", kind="direct", peer_id=other.id))["id"]
        s1 = (await send(M, g, "member's first"))["seq"]
        s2 = (await send(M, g, "member's second"))["seq"]
        s3 = (await send(O, g, "owner's"))["seq"]
        # Editing: only the author.
        for client in (O, AD):
            err = await self.expect_error(client, "forbidden", "messages.edit", conversation_id=g, seq=s1,
                                          text="not yours")
            self.assertTrue(err["message"])
        edited = await M.call("messages.edit", conversation_id=g, seq=s1, text="member's first, edited")
        self.assertEqual((edited["kind"], edited["target_seq"], edited["text"]),
                         ("edit", s1, "member's first, edited"))
        await self.expect_error(M, "bad_request", "messages.edit", conversation_id=g, seq=s1, text="")
        # Deleting: a member may not delete another's message, not even in a direct chat.
        await self.expect_error(M, "forbidden", "messages.delete", conversation_id=g, seq=s3)
        dm_seq = (await send(X, dm, "other's"))["seq"]
        await self.expect_error(M, "forbidden", "messages.delete", conversation_id=dm, seq=dm_seq)
        # The owner and an admin may, in a group.
        deleted = await O.call("messages.delete", conversation_id=g, seq=s1)
        self.assertEqual((deleted["kind"], deleted["target_seq"], deleted["sender_id"]),
                         ("delete", s1, owner.id))
        self.assertNotIn("text", deleted)
        await AD.call("messages.delete", conversation_id=g, seq=s2)
        # Deleted twice, or a deleted message edited: not found.
        await self.expect_error(O, "not_found", "messages.delete", conversation_id=g, seq=s1)
        await self.expect_error(M, "not_found", "messages.edit", conversation_id=g, seq=s2, text="again")
        history = {m["seq"]: m for m in (await M.call("messages.history", conversation_id=g))["messages"]}
        self.assertTrue(history[s1]["deleted"])
        self.assertNotIn("text", history[s1])
        edit_rows = [m for m in history.values() if m["kind"] == "edit" and m["target_seq"] == s1]
        self.assertEqual([m.get("text") for m in edit_rows], [""], "a deleted message's edit kept its text")
        # Reacting: not to deleted, nonexistent or system rows, nor where not a member.
        await self.expect_error(M, "not_found", "messages.react", conversation_id=g, seq=s1, emoji="\U0001F44D")
        await self.expect_error(M, "not_found", "messages.react", conversation_id=g, seq=999, emoji="\U0001F44D")
        role_row = min(m["seq"] for m in history.values() if m["kind"] == "role_changed")
        await self.expect_error(M, "not_found", "messages.react", conversation_id=g, seq=role_row, emoji="x")
        await self.expect_error(X, "not_found", "messages.react", conversation_id=g, seq=s3, emoji="\U0001F44D")
        await self.expect_error(M, "not_found", "messages.edit", conversation_id=g, seq=999, text="ghost")
        # One reaction per member per message: a second replaces the first; empty removes.
        await M.call("messages.react", conversation_id=g, seq=s3, emoji="\U0001F44D")
        await M.call("messages.react", conversation_id=g, seq=s3, emoji="\U0001F389")
        await AD.call("messages.react", conversation_id=g, seq=s3, emoji="\U0001F44D")
        # The same reaction again changes nothing: no entry, nobody told; the answer
        # is the message (test_noop_reaction_answer checks its content).
        before = (await O.call("conversations.get", conversation_id=g))["last_seq"]
        # The admin's real reaction (entry `before`) may still be on its way to O.
        await O.wait_for(lambda f: f.get("type") == "message" and f["message"]["seq"] == before, 5,
                         "the admin's reaction event")
        O.frames.clear()
        same = await AD.call("messages.react", conversation_id=g, seq=s3, emoji="\U0001F44D")
        self.assertEqual((same["kind"], same["seq"], same["text"]), ("message", s3, "owner's"))
        self.assertEqual((await O.call("conversations.get", conversation_id=g))["last_seq"], before)
        await self.no_frames(O, "message", within=0.3)
        row = (await O.call("messages.history", conversation_id=g, after=s3 - 1, limit=1))["messages"][0]
        self.assertEqual(sorted((r["user_id"], r["emoji"]) for r in row["reactions"]),
                         sorted([(member.id, "\U0001F389"), (admin.id, "\U0001F44D")]))
        status, body = self.server.http("DELETE", f"/v1/conversations/{g}/messages/{s3}/reactions",
                                        token=member.token)
        self.assertEqual(status, 200, body)
        self.assertEqual((body["kind"], body["target_seq"], body.get("text")), ("reaction", s3, ""))
        row = (await O.call("messages.history", conversation_id=g, after=s3 - 1, limit=1))["messages"][0]
        self.assertEqual(row["reactions"], [{"user_id": admin.id, "emoji": "\U0001F44D"}])
        await self.expect_error(M, "bad_request", "messages.react", conversation_id=g, seq=s3, emoji="a\x01")
        await self.expect_error(M, "too_large", "messages.react", conversation_id=g, seq=s3, emoji="x" * 100)
        # The edit window: a fresh message can be edited (over HTTP too), later not.
        s4 = (await send(O, g, "fresh"))["seq"]
        status, body = self.server.http("PATCH", f"/v1/conversations/{g}/messages/{s4}",
                                        {"text": "fresh, edited"}, token=owner.token)
        self.assertEqual(status, 200, body)
        self.assertEqual((body["kind"], body["text"]), ("edit", "fresh, edited"))
        await asyncio.sleep(EDIT_WINDOW_MS / 1000 + 0.4)
        err = await self.expect_error(O, "forbidden", "messages.edit", conversation_id=g, seq=s4, text="too late")
        self.assertIn("window", err["message"])
        status, body = self.server.http("PATCH", f"/v1/conversations/{g}/messages/{s4}",
                                        {"text": "too late"}, token=owner.token)
        self.assertEqual((status, h.error_of(body)[0]), (403, "forbidden"))
        # Deleting and reacting have no window.
        status, body = self.server.http("PUT", f"/v1/conversations/{g}/messages/{s4}/reactions",
                                        {"emoji": "\U0001F44D"}, token=member.token)
        self.assertEqual(status, 200, body)
        status, body = self.server.http("DELETE", f"/v1/conversations/{g}/messages/{s4}", token=owner.token)
        self.assertEqual(status, 200, body)
        row = (await O.call("messages.history", conversation_id=g, after=s4 - 1, limit=1))["messages"][0]
        self.assertEqual((row["seq"], row.get("deleted"), "text" in row, "reactions" in row),
                         (s4, True, False, False))

    async def test_noop_reaction_answer_is_the_message_as_it_stands(self):
        a, b = self.users(2, "noop")
        A, B = await self.ws(a), await self.ws(b)
        dm = (await A.call("conversations.create", kind="direct", peer_id=b.id))["id"]
        seq = (await send(A, dm, "react to me"))["seq"]
        await A.call("messages.react", conversation_id=dm, seq=seq, emoji="\u2764")
        await B.call("messages.react", conversation_id=dm, seq=seq, emoji="\U0001F44D")
        stored = (await A.call("messages.history", conversation_id=dm))["messages"][seq - 1]
        self.assertEqual(len(stored["reactions"]), 2)
        # Setting the reaction b already has changes nothing, and the documented answer
        # is "the message itself": as stored, with its reactions.
        same = await B.call("messages.react", conversation_id=dm, seq=seq, emoji="\U0001F44D")
        same.pop("pts", None)
        self.assertEqual(same, stored, "the answer to a reaction that changed nothing is not the message "
                                       "as stored (its reactions are missing)")
        # Likewise removing a reaction one does not have (a removes hers, then again).
        await A.call("messages.react", conversation_id=dm, seq=seq, emoji="")
        stored = (await A.call("messages.history", conversation_id=dm))["messages"][seq - 1]
        none = await A.call("messages.react", conversation_id=dm, seq=seq, emoji="")
        none.pop("pts", None)
        self.assertEqual(none, stored)


if __name__ == "__main__":
    h.main()
