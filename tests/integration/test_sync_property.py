"""A property-style test of sync against a real natterd: 4 users with 2 devices
each in 3 conversations go through a seeded random interleaving of sends,
edits, deletes, reactions, renames, HTTP sends, disconnects and
reconnects-with-sync. Each device keeps a local view from sync frames, live
events and its own acknowledgements (deduplicated by (conversation, seq), gaps
loaded through history). At checkpoints and at the end every device's view of
every conversation must equal the server's history, and no connection may
receive the same live event twice."""

import collections
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import natter_harness as h  # noqa: E402
from natter_harness import Device, WsClient, server_view  # noqa: E402

STEPS = 300
PAGE = 5
EMOJI = ["\U0001F44D", "\u2764", "\U0001F602", "\U0001F389", ""]
WORDS = ["alpha", "beta", "gamma", "delta", "hello", "later", "ok", "\u00e9t\u00e9", "\u263a", "x"]


class SyncPropertyTest(h.ServerTestCase):
    server_args = ("--sync-page", str(PAGE), "--requests-per-second", "2000", "--request-burst", "2000")

    async def world(self):
        users = [self.server.new_user("p") for _ in range(4)]
        owner = await WsClient.connect(self.server, token=users[0].token)
        self.clients.append(owner)
        g2_owner = await WsClient.connect(self.server, token=users[2].token)
        self.clients.append(g2_owner)
        dm = (await owner.call("conversations.create", kind="direct", peer_id=users[1].id))["id"]
        g1 = (await owner.call("conversations.create", kind="group", title="g1",
                               members=[u.id for u in users[1:]]))["id"]
        await owner.call("members.set_role", conversation_id=g1, user_id=users[1].id, role="admin")
        g2 = (await g2_owner.call("conversations.create", kind="group", title="g2",
                                  members=[users[0].id, users[3].id]))["id"]
        membership = {dm: {users[0].id: "member", users[1].id: "member"},
                      g1: {users[0].id: "owner", users[1].id: "admin", users[2].id: "member",
                           users[3].id: "member"},
                      g2: {users[2].id: "owner", users[0].id: "member", users[3].id: "member"}}
        devices = []
        for u in users:
            for n, login in enumerate((u, self.server.relogin(u, "second"))):
                d = Device(self.server, login, f"{u.handle}/{n}")
                self.devices.append(d)
                devices.append(d)
        return users, devices, membership, {"dm": dm, "g1": g1, "g2": g2}

    async def check_views(self, devices, membership, label):
        reader = self.clients[0]  # users[0] is in every conversation
        expected = {cid: await server_view(reader, cid) for cid in membership}
        last = {cid: (rows[-1]["seq"] if rows else 0) for cid, rows in expected.items()}
        for d in devices:
            mine = {cid: last[cid] for cid, members in membership.items() if d.user.id in members}
            await d.settle(mine, timeout=15)
            self.assertEqual(sorted(d.convs), sorted(mine), f"{label}: {d.name} knows other conversations")
            for cid in mine:
                got = d.convs[cid].listing()
                self.assertEqual([r["seq"] for r in got], [r["seq"] for r in expected[cid]],
                                 f"{label}: {d.name} conversation {cid}: seqs")
                for a, b in zip(got, expected[cid]):
                    self.assertEqual(a, b, f"{label}: {d.name} conversation {cid} seq {b['seq']}")
            # A connection never gets the same live event twice.
            counts = collections.Counter((f["message"]["conversation_id"], f["message"]["seq"]) for f in d.live)
            doubled = sorted(k for k, n in counts.items() if n > 1)
            self.assertEqual(doubled, [], f"{label}: {d.name} got live events twice on one connection")
            # Nor, after a sync answer, an entry that catch-up already contained.
            self.assertEqual(d.redelivered, [], f"{label}: {d.name}: live after the sync answer, "
                                                f"although in the catch-up")

    async def run_property(self, seed):
        rng = random.Random(seed)
        users, devices, membership, cids = await self.world()
        # What is true on the server, from acknowledgements: live messages per conversation.
        alive = {cid: {} for cid in membership}  # cid -> {seq: sender}
        for d in devices:
            await d.connect()
            ans = await d.sync(token=None)
            self.assertEqual(ans["type"], "result", ans)
        counts = collections.Counter()

        def my_convs(d):
            return [cid for cid, members in membership.items() if d.user.id in members]

        async def act(d, method, **params):
            frame = await d.act(method, **params)
            self.assertEqual(frame["type"], "result", f"{d.name} {method} {params}: {frame}")
            return frame["data"]

        for step in range(STEPS):
            if step in (STEPS // 3, 2 * STEPS // 3):
                # Checkpoint: every connected device, once it has applied what is
                # already on its way, matches the server.
                await self.check_views([x for x in devices if x.online], membership, f"seed {seed} step {step}")
            online = [d for d in devices if d.online]
            offline = [d for d in devices if not d.online]
            roll = rng.random()
            if roll < 0.10 and len(online) > 2:
                d = rng.choice(online)
                await d.disconnect()
                counts["disconnect"] += 1
                continue
            if roll < 0.22 and offline:
                d = rng.choice(offline)
                await d.connect()
                ans = await d.sync()
                self.assertEqual(ans["type"], "result", ans)
                self.assertFalse(ans["data"]["resync_required"])
                counts["reconnect+sync"] += 1
                continue
            if roll < 0.26 and online:
                d = rng.choice(online)  # a resync while online: at-least-once on top of live
                ans = await d.sync()
                self.assertEqual(ans["type"], "result", ans)
                counts["sync online"] += 1
                continue
            if roll < 0.30:
                d = rng.choice(online or devices)
                await d.pump()
                counts["pump"] += 1
                continue
            if not online:
                continue
            d = rng.choice(online)
            cid = rng.choice(my_convs(d))
            uid = d.user.id
            role = membership[cid][uid]
            mine = [s for s, sender in alive[cid].items() if sender == uid]
            anyone = list(alive[cid])
            kind = rng.random()
            if kind < 0.45 or not anyone:
                text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4)))
                if rng.random() < 0.15:
                    # Over HTTP: every connection hears it, the sender's own devices too.
                    status, ack = self.server.http("POST", f"/v1/conversations/{cid}/messages",
                                                   {"client_msg_id": f"h{seed}-{step}", "text": text},
                                                   token=d.user.token)
                    self.assertEqual(status, 200, ack)
                    counts["http send"] += 1
                else:
                    ack = await act(d, "messages.send", conversation_id=cid, client_msg_id=f"w{seed}-{step}",
                                    text=text)
                    counts["send"] += 1
                alive[cid][ack["seq"]] = uid
            elif kind < 0.60 and mine:
                await act(d, "messages.edit", conversation_id=cid, seq=rng.choice(mine),
                          text=f"edited at {step}")
                counts["edit"] += 1
            elif kind < 0.72:
                moderator = cid != cids["dm"] and role in ("owner", "admin")
                targets = anyone if moderator else mine
                if not targets:
                    continue
                seq = rng.choice(targets)
                await act(d, "messages.delete", conversation_id=cid, seq=seq)
                del alive[cid][seq]
                counts["delete"] += 1
            elif kind < 0.97:
                await act(d, "messages.react", conversation_id=cid, seq=rng.choice(anyone),
                          emoji=rng.choice(EMOJI))
                counts["react"] += 1
            elif cid != cids["dm"] and role in ("owner", "admin"):
                # The renaming connection's answer is the conversation, not the
                # title_changed event (that goes to every other connection), so
                # this device loads what it lacks by seq, as a client would.
                await d.pump()
                conv = await d.client.call("conversations.rename", conversation_id=cid, title=f"t{step}")
                rows, last = await h.history_from(d.client, cid, after=d.convs[cid].max_seq())
                self.assertEqual(last, conv["last_seq"])
                d.convs[cid].apply_snapshot(rows, last)
                counts["rename"] += 1

        # Everyone comes back and resumes; every view equals the server's.
        for d in devices:
            if not d.online:
                await d.connect()
                ans = await d.sync()
                self.assertEqual(ans["type"], "result", ans)
        await self.check_views(devices, membership, f"seed {seed} end")
        # Titles as the last sync or rename event left them.
        for cid in (cids["g1"], cids["g2"]):
            title = (await devices[0].client.call("conversations.get", conversation_id=cid))["title"]
            for d in devices:
                if cid in d.convs:
                    self.assertEqual(d.convs[cid].title, title, f"{d.name} title of {cid}")
        # The run did exercise what it is meant to.
        for what in ("send", "edit", "delete", "react", "disconnect", "reconnect+sync"):
            self.assertGreater(counts[what], 3, f"seed {seed}: too few {what}: {dict(counts)}")
        gaps = sum(1 for d in devices for data, entries in d.sync_results
                   if isinstance(data, dict) for e in entries if e.get("gap"))
        self.assertGreater(gaps, 0, "no catch-up had a gap")
        print(f"seed {seed}: {dict(counts)}", file=sys.stderr)
        return counts

    async def test_seed_1(self):
        await self.run_property(1)

    async def test_seed_20240229(self):
        await self.run_property(20240229)


if __name__ == "__main__":
    h.main()
