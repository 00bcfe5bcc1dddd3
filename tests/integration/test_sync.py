"""Catch-up (sync) against a real natterd: a device that was away resumes from
its token and rebuilds exactly the server's view (edits, deletes, reactions,
renames, removal, gaps past the sync page), resuming from an older token is
still complete, a fresh install gets every conversation, the cost follows what
changed, live events during a catch-up are neither lost nor doubled, old /
tampered / foreign tokens are refused, and pts counts live frames densely."""

import asyncio
import copy
import itertools
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import natter_harness as h  # noqa: E402
from natter_harness import Device, WsClient, WsError, server_view  # noqa: E402

PAGE = 10  # --sync-page for these servers: small, so gaps are cheap to make

_msg_ids = itertools.count(1)


async def send(client, cid, text, **kw):
    """messages.send with a fresh client_msg_id; returns the ack."""
    return await client.call("messages.send", conversation_id=cid,
                             client_msg_id=f"m{next(_msg_ids)}", text=text, **kw)


def seqs_of(events):
    return [e["seq"] for e in events]


class SyncBase(h.ServerTestCase):
    server_args = ("--sync-page", str(PAGE), "--requests-per-second", "3000", "--request-burst", "3000")

    @classmethod
    def natterd_args(cls):
        # These tests put users in hundreds of conversations: the hourly
        # budgets (tested in test_bad_input) are raised.
        return tuple(cls.server_args) + ("--max-conversations-per-hour", "100000",
                                         "--max-member-adds-per-hour", "100000")

    def users(self, n, prefix="s"):
        return [self.server.new_user(prefix) for _ in range(n)]

    async def device(self, user, name, connect=True):
        d = Device(self.server, user, name)
        self.devices.append(d)
        if connect:
            await d.connect()
        return d

    async def last_seqs(self, client, cids):
        out = {}
        for cid in cids:
            out[cid] = (await client.call("conversations.get", conversation_id=cid))["last_seq"]
        return out

    async def assert_view_matches(self, device, cids, reader=None):
        """Every conversation in cids: the device's rows equal messages.history from
        seq 0 (same seqs, kinds, texts, deleted flags, reactions, edits), seqs dense."""
        reader = reader or device.client
        for cid in cids:
            expected = await server_view(reader, cid)
            self.assertIn(cid, device.convs, f"{device.name} knows nothing of conversation {cid}")
            got = device.convs[cid].listing()
            self.assertEqual([r["seq"] for r in expected], list(range(1, len(expected) + 1)))
            self.assertEqual([r["seq"] for r in got], [r["seq"] for r in expected],
                             f"{device.name}: seqs of conversation {cid} differ from the server's")
            for mine, theirs in zip(got, expected):
                self.assertEqual(mine, theirs, f"{device.name}: conversation {cid} seq {theirs['seq']}")

    def assert_catch_up_entry(self, entry, since_seq):
        """The events of one sync.conversation frame: ascending, no duplicate, the newest
        page after since_seq, and the gap marker naming exactly the rest."""
        conv = entry["conversation"]
        last = conv["last_seq"]
        events = seqs_of(entry["events"])
        self.assertEqual(events, sorted(set(events)), f"events not ascending / doubled: {events}")
        missed = list(range(since_seq + 1, last + 1))
        if len(missed) <= PAGE:
            self.assertNotIn("gap", entry, entry)
            self.assertEqual(events, missed)
        else:
            self.assertEqual(events, missed[-PAGE:])
            self.assertEqual(entry.get("gap"), {"from": since_seq + 1, "to": missed[-PAGE] - 1}, entry)
        for e in entry["events"]:
            self.assertEqual(e["conversation_id"], conv["id"])


class CatchUpTest(SyncBase):

    async def build_world(self):
        """Users u (the device owner), a, b, c; a direct chat u-a, groups g1 (a owns:
        u, b), g2 (b owns: u, c), g3 (a owns: u, b, c) and a channel ch (a owns: u).
        Returns (users, clients, cids)."""
        u, a, b, c = self.users(4, "cu")
        A, B, C = [await self.ws(x) for x in (a, b, c)]
        dm = (await A.call("conversations.create", kind="direct", peer_id=u.id))["id"]
        g1 = (await A.call("conversations.create", kind="group", title="G1", members=[u.id, b.id]))["id"]
        g2 = (await B.call("conversations.create", kind="group", title="G2", members=[u.id, c.id]))["id"]
        g3 = (await A.call("conversations.create", kind="group", title="G3",
                           members=[u.id, b.id, c.id]))["id"]
        ch = (await A.call("conversations.create", kind="channel", title="CH", members=[u.id]))["id"]
        for i in range(3):
            await send(A, dm, f"dm before {i}")
            await send(B, g1, f"g1 before {i}")
            await send(C, g2, f"g2 before {i}")
            await send(A, g3, f"g3 before {i}")
            await send(A, ch, f"ch before {i}")
        users = dict(u=u, a=a, b=b, c=c)
        clients = dict(A=A, B=B, C=C)
        cids = dict(dm=dm, g1=g1, g2=g2, g3=g3, ch=ch)
        return users, clients, cids

    async def offline_changes(self, users, clients, cids, own):
        """Everything that happens while u's device is away; own = seqs of u's own
        messages {conv: seq}."""
        A, B, C = clients["A"], clients["B"], clients["C"]
        dm, g1, g2, g3, ch = (cids[k] for k in ("dm", "g1", "g2", "g3", "ch"))
        # Direct: new messages, edits of an old and a new one, deletes, reactions.
        m1 = (await send(A, dm, "dm while away 1"))["seq"]
        m2 = (await send(A, dm, "dm while away 2"))["seq"]
        m3 = (await send(A, dm, "dm while away 3"))["seq"]
        await A.call("messages.edit", conversation_id=dm, seq=1, text="dm before 0 (edited)")
        await A.call("messages.edit", conversation_id=dm, seq=m2, text="dm while away 2 (edited)")
        await A.call("messages.delete", conversation_id=dm, seq=m3)
        await A.call("messages.react", conversation_id=dm, seq=own["dm"], emoji="\U0001F44D")
        await A.call("messages.react", conversation_id=dm, seq=m1, emoji="\u2764")
        await A.call("messages.react", conversation_id=dm, seq=m1, emoji="\U0001F600")  # changes it
        await A.call("messages.edit", conversation_id=dm, seq=2, text="edited, then deleted")
        await A.call("messages.delete", conversation_id=dm, seq=2)  # the edit event loses its text
        # g1: renamed, new messages, a reaction to an old message.
        await A.call("conversations.rename", conversation_id=g1, title="G1 renamed")
        await send(B, g1, "g1 while away 1")
        await send(B, g1, "g1 while away 2")
        await A.call("messages.react", conversation_id=g1, seq=1, emoji="\U0001F44B")
        # g2: a message, then u is removed.
        await send(C, g2, "g2 while away")
        await B.call("members.remove", conversation_id=g2, user_id=users["u"].id)
        await send(C, g2, "g2 after u left")
        # g3: more than a sync page, changes inside the gap and inside the page.
        first = None
        for i in range(3 * PAGE):
            seq = (await send(A if i % 2 else B, g3, f"g3 while away {i}"))["seq"]
            first = first or seq
        await B.call("messages.react", conversation_id=g3, seq=first, emoji="\U0001F525")
        await C.call("messages.react", conversation_id=g3, seq=first, emoji="\U0001F525")
        await C.call("messages.react", conversation_id=g3, seq=first, emoji="")  # and takes it back
        await A.call("messages.edit", conversation_id=g3, seq=1, text="g3 before 0 (edited)")
        await B.call("messages.edit", conversation_id=g3, seq=first, text="g3 first while away (edited)")
        await A.call("messages.edit", conversation_id=g3, seq=first + 1, text="doomed edit")
        await A.call("messages.delete", conversation_id=g3, seq=first + 1)
        await A.call("messages.delete", conversation_id=g3, seq=own["g3"])  # the owner moderates
        c_seq = (await send(C, g3, "c says something"))["seq"]
        await C.call("messages.delete", conversation_id=g3, seq=c_seq)
        await B.call("messages.react", conversation_id=g3, seq=first + 2, emoji="\U0001F440")
        # The channel (a large conversation): more than a page, an edit, a reaction.
        for i in range(PAGE + 5):
            await send(A, ch, f"ch while away {i}")
        await A.call("messages.edit", conversation_id=ch, seq=2, text="ch before 1 (edited)")
        await A.call("messages.react", conversation_id=ch, seq=3, emoji="\U0001F4E3")

    async def test_offline_device_catches_up_then_older_token_and_fresh_install(self):
        users, clients, cids = await self.build_world()
        u, A = users["u"], clients["A"]
        dm, g1, g2, g3, ch = (cids[k] for k in ("dm", "g1", "g2", "g3", "ch"))
        all_cids = [dm, g1, g2, g3, ch]

        phone = await self.device(u, "phone")
        first = await phone.sync(token=None)  # a fresh install
        self.assertEqual(first["type"], "result", first)
        self.assertEqual(first["data"]["conversations"], 5)
        at_t0 = {e["conversation_id"]: e["conversation"]["last_seq"] for e in phone.sync_results[-1][1]}
        self.assertEqual(at_t0, {dm: 3, g1: 3, g2: 3, g3: 3, ch: 3})
        t0 = phone.token
        # u's own messages and a reaction after that sync (in the log after t0).
        own = {"dm": (await phone.act("messages.send", conversation_id=dm, client_msg_id="u-dm",
                                      text="u in dm"))["data"]["seq"],
               "g3": (await phone.act("messages.send", conversation_id=g3, client_msg_id="u-g3",
                                      text="u in g3"))["data"]["seq"]}
        await phone.act("messages.react", conversation_id=g1, seq=2, emoji="\U0001F44C")
        await phone.settle(await self.last_seqs(A, [dm, g3, ch]))
        await self.assert_view_matches(phone, [dm, g1, g2, g3, ch])
        before_offline = copy.deepcopy(phone.convs)
        await phone.disconnect()

        await self.offline_changes(users, clients, cids, own)

        await phone.connect()
        answer = await phone.sync()  # resumes from t0
        self.assertEqual(answer["type"], "result", answer)
        data, entries = phone.sync_results[-1]
        self.assertFalse(data["resync_required"])
        self.assertEqual(data["conversations"], len(entries))
        by_id = {}
        for e in entries:
            self.assertNotIn(e["conversation_id"], by_id, "a conversation sent twice in one catch-up")
            by_id[e["conversation_id"]] = e
        self.assertEqual(set(by_id), set(all_cids))
        self.assertEqual(by_id[g2], {"conversation_id": g2, "removed": True})
        # g1: the new title, the rename event, all members with their watermarks.
        e1 = by_id[g1]
        self.assertEqual(e1["conversation"]["title"], "G1 renamed")
        self.assertEqual(e1["my_role"], "member")
        self.assertEqual({m["user_id"]: m["role"] for m in e1["members"]},
                         {users["a"].id: "owner", u.id: "member", users["b"].id: "member"})
        for m in e1["members"]:
            self.assertIn("read_seq", m)
            self.assertIn("delivered_seq", m)
        self.assertIn(("title_changed", "G1 renamed"),
                      [(e["kind"], e.get("text")) for e in e1["events"]])
        # The channel is large: only u in members, and a gap as for the others.
        self.assertTrue(by_id[ch]["conversation"]["large"])
        self.assertEqual([m["user_id"] for m in by_id[ch]["members"]], [u.id])
        self.assertIn("gap", by_id[g3])
        self.assertIn("gap", by_id[ch])
        for cid in (dm, g1, g3, ch):
            self.assert_catch_up_entry(by_id[cid], at_t0[cid])
        # Deleted rows in the catch-up carry no text, and neither does an edit of them.
        dm_rows = {e["seq"]: e for e in by_id[dm]["events"]}
        edit_of_2 = [e for e in dm_rows.values() if e["kind"] == "edit" and e["target_seq"] == 2]
        self.assertEqual([e.get("text") for e in edit_of_2], [""])
        self.assertNotIn(g2, phone.convs)
        self.assertEqual(phone.convs[g1].title, "G1 renamed")
        await self.assert_view_matches(phone, [dm, g1, g3, ch])
        err = await phone.client.error("messages.history", conversation_id=g2)
        self.assertEqual(err["code"], "not_found")

        # More changes, then resuming from the OLDER token t0 again: everything since
        # t0 comes again (at least once); deduplicated by (conversation, seq) the view
        # is still exactly the server's.
        await send(A, dm, "after the first catch-up")
        await A.call("messages.react", conversation_id=dm, seq=1, emoji="\U0001F389")
        await clients["B"].call("messages.react", conversation_id=g3, seq=1, emoji="\U0001F389")
        again = await phone.sync(token=t0)
        self.assertEqual(again["type"], "result", again)
        data2, entries2 = phone.sync_results[-1]
        self.assertFalse(data2["resync_required"])
        self.assertEqual({e["conversation_id"] for e in entries2}, set(all_cids))
        self.assertGreater(data2["pts"], data["pts"])
        await self.assert_view_matches(phone, [dm, g1, g3, ch])

        # A second device holding the state from before the first catch-up, resuming
        # from t0 on its own connection: complete as well.
        tablet = await self.device(u, "tablet")
        tablet.convs = copy.deepcopy(before_offline)
        tablet.token = t0
        ans = await tablet.sync()
        self.assertEqual(ans["type"], "result", ans)
        self.assertNotIn(g2, tablet.convs)
        await self.assert_view_matches(tablet, [dm, g1, g3, ch])

        # A fresh install (no token): every conversation u is still in, nothing else,
        # newest page each with the rest as a gap.
        laptop = await self.device(u, "laptop")
        ans = await laptop.sync(token=None)
        self.assertEqual(ans["type"], "result", ans)
        fresh_data, fresh_entries = laptop.sync_results[-1]
        self.assertEqual(sorted(e["conversation_id"] for e in fresh_entries), sorted([dm, g1, g3, ch]))
        self.assertEqual(fresh_data["conversations"], 4)
        for e in fresh_entries:
            self.assert_catch_up_entry(e, 0)
        await self.assert_view_matches(laptop, [dm, g1, g3, ch])
        # An empty token is a fresh install too; over HTTP the same conversations.
        empty = await laptop.client.request("sync", token="")
        self.assertEqual(empty["type"], "result", empty)
        self.assertEqual(empty["data"]["conversations"], 4)
        status, body = self.server.http("GET", "/v1/sync", token=u.token)
        self.assertEqual(status, 200, body)
        self.assertFalse(body["resync_required"])
        self.assertEqual(sorted(e["conversation_id"] for e in body["conversations"]),
                         sorted([dm, g1, g3, ch]))
        status, body = self.server.http("GET", f"/v1/sync?token={t0}", token=u.token)
        self.assertEqual(status, 200, body)
        self.assertEqual(sorted(e["conversation_id"] for e in body["conversations"]), sorted(all_cids))

    async def test_cost_follows_what_changed(self):
        u, o = self.users(2, "cost")
        O = await self.ws(o)
        # u is in 300 conversations (pipelined creation).
        n = 300
        rids = [await O.send_request("conversations.create", kind="group", title=f"c{i}", members=[u.id])
                for i in range(n)]
        cids = []
        for rid in rids:
            frame = await O.answer(rid, timeout=30)
            self.assertEqual(frame["type"], "result", frame)
            cids.append(frame["data"]["id"])
        phone = await self.device(u, "phone")
        started = time.monotonic()
        full = await phone.sync(token=None)
        full_time = time.monotonic() - started
        self.assertEqual(full["data"]["conversations"], n)
        self.assertEqual(len(phone.sync_results[-1][1]), n)
        token = phone.token
        # Nothing changed: nothing comes.
        quiet = await phone.sync()
        self.assertEqual(quiet["data"]["conversations"], 0)
        self.assertEqual(phone.sync_results[-1][1], [])
        # Five change (messages, an edit, a reaction, a rename): exactly those five.
        changed = [cids[7], cids[77], cids[150], cids[222], cids[299]]
        for cid in changed[:4]:
            await send(O, cid, "news")
        await O.call("messages.edit", conversation_id=changed[0], seq=1, text="news (edited)")
        await O.call("messages.react", conversation_id=changed[1], seq=1, emoji="\U0001F44D")
        await O.call("conversations.rename", conversation_id=changed[4], title="renamed")
        started = time.monotonic()
        delta = await phone.sync(token=token)
        delta_time = time.monotonic() - started
        self.assertEqual(delta["type"], "result", delta)
        entries = phone.sync_results[-1][1]
        self.assertEqual(sorted(e["conversation_id"] for e in entries), sorted(changed))
        self.assertEqual(delta["data"]["conversations"], 5)
        by_id = {e["conversation_id"]: e for e in entries}
        self.assertEqual([(e["kind"], e.get("text")) for e in by_id[changed[0]]["events"]],
                         [("message", "news (edited)"), ("edit", "news (edited)")])
        self.assertEqual(by_id[changed[4]]["conversation"]["title"], "renamed")
        await self.assert_view_matches(phone, changed)
        # Not a timing benchmark, only a sanity bound: five is not slower than 300.
        self.assertLess(delta_time, max(1.0, full_time), (delta_time, full_time))

    async def test_live_events_during_catch_up_not_lost_or_doubled(self):
        """While one device resumes, another user sends a pipelined burst. From the
        token on, the catch-up (page + gap) and the live events after the answer
        hold every seq exactly once. The race is timing-dependent, so it is tried
        in several rounds (the sync request at a different point of the burst each
        time) and every violation is reported at the end."""
        u, a, b = self.users(3, "hold")
        A = await self.ws(a)
        B = await self.ws(b)
        g = (await A.call("conversations.create", kind="group", title="burst", members=[u.id, b.id]))["id"]
        dm = (await B.call("conversations.create", kind="direct", peer_id=u.id))["id"]
        await send(A, g, "hello")
        problems = []
        rounds = 0
        started = time.monotonic()
        # Bounded in rounds and time; a loaded machine gets fewer rounds, never fewer than 3.
        while rounds < 12 and (time.monotonic() - started < 12 or rounds < 3):
            round_no = rounds
            rounds += 1
            phone = await self.device(u, f"phone{round_no}")
            ans = await phone.sync(token=None)
            self.assertEqual(ans["type"], "result", ans)
            await phone.disconnect()
            token = phone.token
            before = {**(await self.last_seqs(A, [g])), **(await self.last_seqs(B, [dm]))}
            c = await self.ws(u)
            # A burst in g (and a trickle in dm) runs while the device resumes: the
            # sync request goes out in the middle of the pipelined burst.
            burst, trickle = [], []

            async def more(lo, hi):
                for i in range(lo, hi):
                    burst.append(await A.send_request("messages.send", conversation_id=g,
                                                      client_msg_id=f"burst{round_no}-{i}", text=f"burst {i}"))
                    if i % 6 == 0:
                        trickle.append(await B.send_request("messages.send", conversation_id=dm,
                                                            client_msg_id=f"trickle{round_no}-{i}", text=f"t {i}"))
            await more(0, 60)
            waited = burst[(7 * round_no) % 60]
            await A.answer(waited, timeout=20)
            mark = len(c.all_frames)
            rid = await c.send_request("sync", token=token)
            await more(60, 180)
            answer = await c.answer(rid, timeout=20)
            self.assertEqual(answer["type"], "result", answer)
            for r in burst:
                if r != waited:
                    self.assertEqual((await A.answer(r, timeout=20))["type"], "result")
            for r in trickle:
                self.assertEqual((await B.answer(r, timeout=20))["type"], "result")
            final = {**(await self.last_seqs(A, [g])), **(await self.last_seqs(B, [dm]))}
            # Wait until the live stream reaches the end.
            deadline = time.monotonic() + 10
            while True:
                seen = {(f["message"]["conversation_id"], f["message"]["seq"])
                        for f in c.all_frames if f.get("type") == "message"}
                if all((cid, final[cid]) in seen for cid in (g, dm)) or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.05)
            frames = c.all_frames
            start = next(i for i in range(mark, len(frames))
                         if frames[i].get("id") == rid and frames[i].get("type") in ("sync.conversation", "result"))
            end = next(i for i in range(start, len(frames))
                       if frames[i].get("id") == rid and frames[i].get("type") == "result")
            entries = {f["data"]["conversation_id"]: f["data"] for f in frames[start:end]}
            earlier_live = [f["message"] for f in frames[:start] if f.get("type") == "message"]
            later_live = [f["message"] for f in frames[end + 1:] if f.get("type") == "message"]
            for cid, name in ((g, "group"), (dm, "direct")):
                caught = seqs_of(entries[cid]["events"]) if cid in entries else []
                gap = entries.get(cid, {}).get("gap")
                gap_seqs = list(range(gap["from"], gap["to"] + 1)) if gap else []
                after = [m["seq"] for m in later_live if m["conversation_id"] == cid]
                early = [m["seq"] for m in earlier_live if m["conversation_id"] == cid]
                snapshot = entries[cid]["conversation"]["last_seq"] if cid in entries else before[cid]
                expected = list(range(before[cid] + 1, final[cid] + 1))
                combined = gap_seqs + caught + after
                doubled = sorted({s for s in combined if combined.count(s) > 1})
                missing = sorted(set(expected) - set(combined))
                extra = sorted(set(combined) - set(expected))
                stale = [s for s in after if s <= snapshot]
                if doubled or missing or stale or extra:
                    problems.append(
                        f"round {round_no}, {name} conversation: catch-up snapshot last_seq={snapshot}, "
                        f"page={caught[:1]}..{caught[-1:]}, gap={gap}; live after the answer "
                        f"{after[:3]}...; delivered twice (catch-up and live after the answer): {doubled}; "
                        f"live after the answer at or below the snapshot: {stale}; missing: {missing} "
                        f"(sent live before the request: {sorted(set(missing) & set(early))}); unexpected: {extra}")
            garbled = [f for f in c.all_frames if f.get("type") in ("_unparsable", "_binary")]
            if garbled:
                problems.append(f"round {round_no}: frames that are not JSON objects: {garbled[:2]}")
            if c.closed.is_set():
                # websockets closes with 1007 on a text frame that is not UTF-8 and
                # 1002 on a malformed frame: the server sent bytes that are no frame.
                problems.append(f"round {round_no}: the connection dropped during the burst; the client "
                                f"closed it with {c.ws.close_sent} (received close: {c.ws.close_rcvd}), "
                                f"i.e. the server sent a corrupt frame")
            await c.close()
            self.clients.remove(c)
        self.assertEqual(problems, [], f"{len(problems)} violation(s) in {rounds} rounds:\n" + "\n".join(problems))

    async def test_pts_dense_per_frame_and_jump_when_missed(self):
        u, a, b = self.users(3, "pts")
        A, B = await self.ws(a), await self.ws(b)
        phone = await self.device(u, "phone")
        watch = await self.device(self.server.relogin(u, "watch"), "watch")
        g = (await A.call("conversations.create", kind="group", title="pts", members=[u.id, b.id]))["id"]
        dm = (await B.call("conversations.create", kind="direct", peer_id=u.id))["id"]
        ch = (await A.call("conversations.create", kind="channel", title="big", members=[u.id]))["id"]
        s1 = (await send(A, g, "one"))["seq"]
        await send(B, dm, "two")
        await B.call("messages.react", conversation_id=g, seq=s1, emoji="\U0001F44D")
        await A.call("messages.edit", conversation_id=g, seq=s1, text="one (edited)")
        await B.call("messages.read", conversation_id=g, seq=s1)  # a receipt to every member
        await A.call("conversations.rename", conversation_id=g, title="pts 2")
        await send(A, ch, "channel post")  # large: no pts
        await send(A, g, "three")
        for d in (phone, watch):
            await d.settle({g: (await A.call("conversations.get", conversation_id=g))["last_seq"], ch: 1})
        for d in (phone, watch):
            self.assertGreaterEqual(len(d.pts_seen), 9, d.pts_seen)
            self.assertEqual(d.pts_seen, list(range(d.pts_seen[0], d.pts_seen[0] + len(d.pts_seen))),
                             f"{d.name}: pts not dense: {d.pts_seen}")
            chan = [f for f in d.live if f["message"]["conversation_id"] == ch]
            self.assertEqual(len(chan), 1)
            self.assertNotIn("pts", chan[0], "a frame of a large conversation carries pts")
        self.assertEqual(phone.pts_seen, watch.pts_seen)
        last_pts = phone.pts_seen[-1]
        # The server's pts for u is the last one seen live.
        for d in (phone, watch):
            ans = await d.sync(token=None)
            self.assertEqual(ans["data"]["pts"], last_pts)

        # The watch drops off; three changes later it is back (no sync) and the next
        # frame shows the jump.
        await watch.disconnect()
        await send(A, g, "missed 1")
        await send(B, dm, "missed 2")
        await B.call("messages.react", conversation_id=dm, seq=1, emoji="\u2764")
        await asyncio.sleep(0.2)
        await watch.connect()
        await send(A, g, "after")
        await phone.settle({g: (await A.call("conversations.get", conversation_id=g))["last_seq"]})
        await watch.settle({g: (await A.call("conversations.get", conversation_id=g))["last_seq"]})
        self.assertEqual(phone.pts_seen[-4:], [last_pts + 1, last_pts + 2, last_pts + 3, last_pts + 4])
        self.assertEqual(watch.pts_seen[-1], last_pts + 4)
        self.assertEqual(watch.pts_seen[-1] - watch.pts_seen[-2], 4, watch.pts_seen)
        # Resuming from its token fills exactly what the jump said was missing.
        ans = await watch.sync()
        self.assertEqual(ans["data"]["pts"], last_pts + 4)
        entries = watch.sync_results[-1][1]
        self.assertEqual(sorted(e["conversation_id"] for e in entries), sorted([g, dm]))

        # The device's own changes: its socket gets answers carrying its new pts
        # instead of frames, so answers and frames together stay dense, with no
        # false jump; the other device sees all of them as frames.
        start = last_pts + 4
        phone.ack_pts.clear()
        phone.pts_seen.clear()
        watch.pts_seen.clear()
        await phone.act("messages.send", conversation_id=g, client_msg_id="own-1", text="mine")
        await send(A, g, "theirs")
        await phone.act("messages.react", conversation_id=dm, seq=1, emoji="\U0001F44D")
        last_g = (await A.call("conversations.get", conversation_id=g))["last_seq"]
        await phone.settle({g: last_g})
        await phone.act("messages.read", conversation_id=g, seq=last_g)
        await send(B, dm, "theirs too")
        await phone.act("conversations.create", kind="group", title="mine", members=[b.id])
        await B.call("messages.read", conversation_id=g, seq=last_g)  # a receipt to every member
        end = start + 7
        for d in (phone, watch):
            deadline = time.monotonic() + 5
            while max(d.pts_seen + d.ack_pts + [0]) < end and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
                await d.pump()
        self.assertEqual(len(phone.ack_pts), 4, phone.ack_pts)
        self.assertEqual(sorted(phone.ack_pts + phone.pts_seen), list(range(start + 1, end + 1)),
                         f"answers {phone.ack_pts}, frames {phone.pts_seen}")
        self.assertEqual(watch.pts_seen, list(range(start + 1, end + 1)))


class TokenTest(SyncBase):
    server_args = ("--sync-page", str(PAGE), "--update-log-retention", "20")

    async def test_too_old_token_requires_resync(self):
        u, a = self.users(2, "old")
        A = await self.ws(a)
        dm = (await A.call("conversations.create", kind="direct", peer_id=u.id))["id"]
        await send(A, dm, "first")
        phone = await self.device(u, "phone")
        await phone.sync(token=None)
        old = phone.token
        # Still within retention: fine.
        for i in range(5):
            await send(A, dm, f"soon {i}")
        ok = await phone.client.request("sync", token=old)
        self.assertEqual(ok["type"], "result", ok)
        self.assertFalse(ok["data"]["resync_required"])
        # Past retention (20, pruned at multiples once the log holds twice that).
        for i in range(70):
            await send(A, dm, f"later {i}")
        rid = await phone.client.send_request("sync", token=old)
        ans = await phone.client.answer(rid)
        self.assertEqual(ans["type"], "result", ans)
        self.assertTrue(ans["data"]["resync_required"], ans)
        self.assertIsInstance(ans["data"].get("reason"), str)
        self.assertTrue(ans["data"]["reason"])
        self.assertNotIn("token", ans["data"])
        self.assertEqual([f for f in phone.client.frames if f.get("type") == "sync.conversation"
                          and f.get("id") == rid], [])
        status, body = self.server.http("GET", f"/v1/sync?token={old}", token=u.token)
        self.assertEqual(status, 200, body)
        self.assertTrue(body["resync_required"])
        # Starting over without a token works and is complete.
        fresh = await self.device(u, "fresh")
        ans = await fresh.sync(token=None)
        self.assertFalse(ans["data"]["resync_required"])
        await self.assert_view_matches(fresh, [dm])
        # And its new token resumes normally.
        await send(A, dm, "one more")
        ans = await fresh.sync()
        self.assertFalse(ans["data"]["resync_required"])
        await self.assert_view_matches(fresh, [dm])

    async def test_tampered_foreign_and_garbage_tokens(self):
        u, v, a = self.users(3, "tok")
        A = await self.ws(a)
        dm = (await A.call("conversations.create", kind="direct", peer_id=u.id))["id"]
        (await A.call("conversations.create", kind="direct", peer_id=v.id))
        await send(A, dm, "hi")
        phone = await self.device(u, "phone")
        await phone.sync(token=None)
        good = phone.token
        other = await self.device(v, "other")
        await other.sync(token=None)
        foreign = other.token
        self.assertTrue(good.startswith("v1."), good)
        head, _, sig = good.rpartition(".")
        prefix, _, payload = head.rpartition(".")

        def flip(s, i):
            ch = s[i]
            return s[:i] + ("B" if ch != "B" else "C") + s[i + 1:]

        bad = {
            "flipped payload char": prefix + "." + flip(payload, len(payload) // 2) + "." + sig,
            "flipped first payload char": prefix + "." + flip(payload, 0) + "." + sig,
            "flipped signature char": head + "." + flip(sig, 5),
            "flipped last signature char": head + "." + flip(sig, len(sig) - 1),
            "truncated signature": good[:-2],
            "no signature": head + ".",
            "another user's token": foreign,
            "garbage": "hello",
            "wrong version": "v2" + good[2:],
        }
        for what, token in bad.items():
            ans = await phone.client.request("sync", token=token)
            self.assertEqual((ans["type"], ans.get("code"), ans.get("message")),
                             ("error", "bad_request", "invalid sync token"), f"{what}: {ans}")
            status, body = h.http_request(self.server.port, "GET", "/v1/sync?token=" + token, token=u.token)
            self.assertEqual((status, h.error_of(body)[0]), (400, "bad_request"), f"{what} over HTTP: {body}")
        # A key id the server does not hold reads as a retired signing key: start over
        # (nothing about the account is served for it).
        for token in ("v1.nokey." + payload + "." + sig, "v1.x.y.z"):
            ans = await phone.client.request("sync", token=token)
            self.assertEqual(ans["type"], "result", ans)
            self.assertEqual(ans["data"], {"resync_required": True, "conversations": 0,
                                           "reason": "the sync token's signing key was retired"})
        # The connection is fine after all that, live events still flow, and the
        # genuine token still works.
        await send(A, dm, "still here")
        await phone.settle({dm: 2})
        self.assertEqual(phone.convs[dm].max_seq(), 2)
        ans = await phone.client.request("sync", token=good)
        self.assertEqual(ans["type"], "result", ans)
        err = await phone.client.request("sync", token=12345)
        self.assertEqual((err["type"], err.get("code")), ("error", "bad_request"), err)
        with self.assertRaises(WsError):
            await phone.client.call("sync", token=foreign)


class BecomingLargeTest(SyncBase):
    server_args = ("--sync-page", str(PAGE), "--large-conversation-members", "3")

    async def test_group_growing_large_while_away(self):
        """A group passes --large-conversation-members while a member's device is
        away: resuming from the old token still brings everything (the switch leaves
        one log entry per member), and from then on the conversation is followed by
        its own seq through the token."""
        u, o, x, y, z = self.users(5, "grow")
        O = await self.ws(o)
        g = (await O.call("conversations.create", kind="group", title="small", members=[u.id, x.id]))["id"]
        await send(O, g, "while small")
        phone = await self.device(u, "phone")
        await phone.sync(token=None)
        self.assertFalse(phone.convs[g].meta["large"])
        await phone.disconnect()
        await send(O, g, "before growing")
        grown = await O.call("members.add", conversation_id=g, user_ids=[y.id, z.id])
        self.assertTrue(grown["large"], grown)
        for i in range(PAGE + 3):
            await send(O, g, f"large {i}")
        await phone.connect()
        ans = await phone.sync()
        self.assertEqual(ans["type"], "result", ans)
        entries = {e["conversation_id"]: e for e in phone.sync_results[-1][1]}
        self.assertIn(g, entries)
        self.assertTrue(entries[g]["conversation"]["large"])
        self.assertEqual([m["user_id"] for m in entries[g]["members"]], [u.id])
        await self.assert_view_matches(phone, [g])
        # Live in the large group: no pts on frames; away again and back: the token's
        # own position for the group brings what was missed.
        await send(O, g, "live while large")
        last = (await O.call("conversations.get", conversation_id=g))["last_seq"]
        await phone.settle({g: last})
        live = [f for f in phone.live if f["message"]["conversation_id"] == g]
        self.assertTrue(live)
        self.assertTrue(all("pts" not in f for f in live), live)
        await phone.disconnect()
        for i in range(3):
            await send(O, g, f"missed while large {i}")
        await O.call("messages.edit", conversation_id=g, seq=last, text="live while large (edited)")
        await phone.connect()
        ans = await phone.sync()
        entries = {e["conversation_id"]: e for e in phone.sync_results[-1][1]}
        self.assertEqual(list(entries), [g])
        self.assertEqual(seqs_of(entries[g]["events"]), list(range(last, last + 5)))
        await self.assert_view_matches(phone, [g])
        # Nothing new: nothing comes.
        await phone.sync()
        self.assertEqual(phone.sync_results[-1][1], [])


class FollowedBySeqTest(SyncBase):
    server_args = ("--sync-page", str(PAGE), "--logged-group-members", "3")

    async def test_a_group_past_the_logged_size_is_followed_by_seq(self):
        """A group grows past --logged-group-members while a member is away: the
        old token still brings everything. From then on its messages write no log
        entry per member (live frames carry no pts) yet it stays a small group:
        every member listed, receipts to everyone."""
        u, o, x, y = self.users(4, "byseq")
        O = await self.ws(o)
        g = (await O.call("conversations.create", kind="group", title="three", members=[u.id, x.id]))["id"]
        await send(O, g, "while three")
        phone = await self.device(u, "phone")
        await phone.sync(token=None)
        await phone.disconnect()
        await send(O, g, "before the fourth")
        grown = await O.call("members.add", conversation_id=g, user_ids=[y.id])
        self.assertFalse(grown["large"], grown)
        for i in range(PAGE + 3):
            await send(O, g, f"four {i}")
        await phone.connect()
        await phone.sync()
        entries = {e["conversation_id"]: e for e in phone.sync_results[-1][1]}
        self.assertIn(g, entries)
        self.assertEqual(sorted(m["user_id"] for m in entries[g]["members"]), sorted([u.id, o.id, x.id, y.id]))
        await self.assert_view_matches(phone, [g])
        # Live: the message frames carry no pts, a receipt still reaches every member.
        ack = await O.call("messages.send", conversation_id=g, client_msg_id="live-1", text="live")
        self.assertNotIn("pts", ack)
        await phone.settle({g: ack["seq"]})
        live = [f for f in phone.live if f.get("message", {}).get("conversation_id") == g]
        self.assertTrue(live)
        self.assertTrue(all("pts" not in f for f in live), live)
        X = await self.ws(x)
        read = await X.call("messages.read", conversation_id=g, seq=ack["seq"])
        self.assertIn("pts", read)  # receipts still go through every member's log
        # Away again: the token's position in the group (from before the live
        # message: frames do not move a token) brings what was missed.
        await phone.disconnect()
        for i in range(3):
            await send(O, g, f"missed {i}")
        await phone.connect()
        await phone.sync()
        entries = {e["conversation_id"]: e for e in phone.sync_results[-1][1]}
        self.assertEqual(list(entries), [g])
        self.assertEqual(seqs_of(entries[g]["events"]), list(range(ack["seq"], ack["seq"] + 4)))
        self.assertEqual({m["user_id"]: m["read_seq"] for m in entries[g]["members"]}[x.id], ack["seq"])
        await self.assert_view_matches(phone, [g])
        await phone.sync()
        self.assertEqual(phone.sync_results[-1][1], [])


class BuriedUnderGroupsTest(SyncBase):
    """One user puts another into 2,100 groups (the hourly budgets raised for
    it): the victim's real chat stays reachable. The conversation list pages,
    a fresh sync pages, and a sync with a token pages instead of answering
    resync_required. Each answer holds at most 2,000 conversations."""
    server_args = ("--sync-page", str(PAGE), "--requests-per-second", "100000", "--request-burst", "100000")
    timeout = 240
    GROUPS = 2100

    async def test_a_real_chat_is_never_buried(self):
        victim, friend, spammer = self.users(3, "bury")
        f = await self.ws(friend)
        direct = (await f.call("conversations.create", kind="direct", peer_id=victim.id))["id"]
        await f.call("messages.send", conversation_id=direct, client_msg_id="real", text="the real chat")
        before = await self.device(victim, "old-phone")
        await before.sync_all()  # a token from before the flood
        old_token = before.token

        s = await self.ws(spammer)
        pending = []
        for i in range(self.GROUPS):
            pending.append(await s.send_request("conversations.create", kind="group", title=f"spam {i}",
                                                members=[victim.id]))
            if len(pending) >= 200:
                self.assertEqual((await s.answer(pending.pop(0), timeout=30))["type"], "result")
        for rid in pending:
            self.assertEqual((await s.answer(rid, timeout=30))["type"], "result")
        everything = self.GROUPS + 1

        # The list pages to the end; the real chat is on the last page.
        v = await self.ws(victim)
        listed, page, cursor = [], None, None
        for _ in range(20):
            params = {"before": cursor} if cursor else {}
            page = await v.call("conversations.list", **params)
            listed += [c["id"] for c in page["conversations"]]
            cursor = page.get("next")
            if not cursor:
                break
        self.assertEqual(len(set(listed)), everything)
        self.assertIn(direct, listed)

        # A fresh install: pages, every conversation once, the real chat with its message.
        phone = await self.device(victim, "new-phone")
        answers = await phone.sync_all(token=None)
        self.assertTrue(all(a["type"] == "result" and not a["data"]["resync_required"] for a in answers), answers[-1])
        self.assertTrue(all(a["data"]["conversations"] <= 2000 for a in answers))
        self.assertGreater(len(answers), 1)
        self.assertFalse(answers[-1]["data"]["more"])
        self.assertEqual(set(phone.convs), set(listed))
        self.assertEqual([r["text"] for r in phone.convs[direct].listing()], ["the real chat"])

        # The old phone's token: pages too, never resync_required.
        old = await self.device(victim, "old-phone-again")
        answers = await old.sync_all(token=old_token)
        self.assertTrue(all(not a["data"]["resync_required"] for a in answers), answers[-1])
        self.assertGreater(len(answers), 1)
        self.assertEqual(len(set(old.convs)), self.GROUPS)  # what changed: the new groups


if __name__ == "__main__":
    h.main()
