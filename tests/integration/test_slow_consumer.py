"""Slow consumers against a real natterd: a connection that stops reading in a
busy group costs the server a bounded amount of memory (its send queue is
capped by --send-queue-bytes), is told {"type":"resync","reason":"slow_consumer"}
where it lost events, stays connected and can pull what it missed by seq; one
that stays behind past --slow-consumer-timeout-ms is closed with 4030."""

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import natter_harness as h  # noqa: E402
from natter_harness import OP_CLOSE, OP_PING, OP_TEXT, WsClient  # noqa: E402

QUEUE_BYTES = 20000
TEXT = "x" * 15000   # big messages: 4000 of them are 60 MB of frames for a reader
MAX_RSS_GROWTH_MB = 30
# Under a sanitizer (scripts/run-tests.sh sets NATTER_SANITIZER) freed memory
# is held in quarantine and shadow memory grows with what is touched: the
# bound is looser there, and still below what a queue without bound would
# cost (the 60 MB of frames plus, under TSan, about four times that in shadow).
SANITIZED = bool(os.environ.get("NATTER_SANITIZER"))
if os.environ.get("NATTER_SANITIZER") == "thread":
    MAX_RSS_GROWTH_MB = 200
elif os.environ.get("NATTER_SANITIZER"):
    MAX_RSS_GROWTH_MB = 50
    # ASan's quarantine would otherwise hold up to 256 MB of freed frames:
    # that is the sanitizer's memory, not natterd's. The natterd processes of
    # this suite inherit a small one (other sanitizers ignore the option).
    os.environ["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=8"


class SlowSocket(h.RawWebSocket):
    """A RawWebSocket whose socket has a small receive buffer (set before
    connecting, so the window stays small) and that the test reads only when
    it chooses to."""

    def __init__(self, port, token, rcvbuf=4096, timeout=h.DEFAULT_TIMEOUT):
        if SANITIZED and rcvbuf is not None:  # None: the system's default buffers
            # A window of a few KB that closes while natterd runs slowly is reopened
            # by Linux one segment per delayed ACK: the kernel would set the pace.
            rcvbuf = max(rcvbuf, 8192)
        super().__init__(port, token=token, timeout=timeout, rcvbuf=rcvbuf)
        assert self.status == 101, self.status

    def read_until(self, stop, max_frames, timeout):
        """Reads frames (answering nothing) until stop(frame) is true, a close frame
        or EOF, max_frames or timeout. Returns (frames, problem) where problem
        describes anything that was not a well-formed JSON text frame."""
        frames = []
        deadline = time.monotonic() + timeout * (3 if SANITIZED else 1)  # sanitized natterd is slower
        while len(frames) < max_frames:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return frames, f"no end after {timeout}s ({len(frames)} frames read)"
            try:
                frame = self.recv_frame(remaining)
            except socket.timeout:
                return frames, f"no end after {timeout}s ({len(frames)} frames read)"
            except AssertionError as e:  # e.g. a masked server frame: bytes out of step
                return frames, f"malformed frame after {len(frames)} frames: {e}"
            if frame is None:
                return frames, "EOF"
            op, payload = frame
            if op == OP_CLOSE:
                code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
                self.closed_with = (code, payload[2:].decode("utf-8", "replace"))
                return frames, None
            if op != OP_TEXT:
                continue
            try:
                obj = json.loads(payload.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                return frames, (f"frame {len(frames)} is not UTF-8 JSON (corrupt bytes on the wire): "
                                f"{payload[:80]!r}...{payload[-40:]!r}")
            if not isinstance(obj, dict):
                return frames, f"frame {len(frames)} is not a JSON object: {obj!r}"
            frames.append(obj)
            if stop(obj):
                return frames, None
        return frames, f"more than {max_frames} frames"




async def flood(client, cid, n, window=50, tag="f", on_progress=None):
    """n pipelined messages.send (at most `window` unanswered); returns the seqs."""
    pending, seqs = [], []
    for i in range(n):
        pending.append(await client.send_request("messages.send", conversation_id=cid,
                                                 client_msg_id=f"{tag}{i}", text=TEXT))
        if len(pending) >= window:
            frame = await client.answer(pending.pop(0), timeout=30)
            assert frame["type"] == "result", frame
            seqs.append(frame["data"]["seq"])
        if on_progress and i % 50 == 0:
            on_progress(i)
    for rid in pending:
        frame = await client.answer(rid, timeout=30)
        assert frame["type"] == "result", frame
        seqs.append(frame["data"]["seq"])
    return seqs


class SlowBase(h.ServerTestCase):
    server_args = ()
    queue_bytes = QUEUE_BYTES

    @classmethod
    def natterd_args(cls):
        return ("--send-queue-bytes", str(cls.queue_bytes), "--requests-per-second", "100000",
                "--request-burst", "100000", *cls.server_args)

    def slow(self, user):
        s = SlowSocket(self.server.port, user.token)
        self.raws.append(s)
        return s

    def dropped(self):
        return self.server.metrics().get("natter_deliveries_dropped_total", 0)


class SlowButAliveTest(SlowBase):
    server_args = ("--slow-consumer-timeout-ms", "20000")

    async def test_stalled_reader_bounded_memory_resync_and_complete_after_pull(self):
        sender, slowpoke = self.server.new_user("snd"), self.server.new_user("slow")
        S = await self.ws(sender, keep_events=False)
        g = (await S.call("conversations.create", kind="group", title="busy", members=[slowpoke.id]))["id"]
        L = self.slow(slowpoke)
        pid = self.server.proc.pid
        # Warm up (allocator, statements) before the baseline.
        await flood(S, g, 20, tag="warm")
        base = h.rss_mb(pid)
        peak = [base]
        dropped_before = self.dropped()
        seqs = await flood(S, g, 4000, on_progress=lambda i: peak.append(h.rss_mb(pid)))
        peak.append(h.rss_mb(pid))
        growth = max(peak) - base
        self.assertLess(growth, MAX_RSS_GROWTH_MB,
                        f"server RSS grew {growth:.1f} MB while a stalled reader was sent "
                        f"{4000 * len(TEXT) / 1e6:.0f} MB (baseline {base:.1f} MB)")
        self.assertGreater(self.dropped(), dropped_before, "the stalled reader never fell behind")
        last = seqs[-1]

        # The reader wakes up: asks for a pong (queued after everything) and reads.
        L.send_json({"type": "ping", "id": "awake"})
        frames, problem = L.read_until(lambda f: f.get("id") == "awake", max_frames=len(seqs) + 200,
                                       timeout=20)
        self.assertIsNone(problem, f"reading the stalled connection: {problem}; last frames: {frames[-3:]}")
        self.assertIsNone(L.closed_with, "the connection was closed")
        self.assertEqual(frames[-1], {"type": "result", "id": "awake", "data": {"pong": True}})
        notices = [i for i, f in enumerate(frames) if f.get("type") == "resync"]
        self.assertGreaterEqual(len(notices), 1, "no resync notice")
        for i in notices:
            self.assertEqual(frames[i], {"type": "resync", "reason": "slow_consumer"})
        live = [f["message"]["seq"] for f in frames if f.get("type") == "message"]
        self.assertEqual(live, sorted(set(live)), "live events out of order or doubled")
        # Every loss is announced where it happened, and no notice without a loss:
        # between two consecutive live messages there is a notice iff seqs skip.
        stream = [("m", f["message"]["seq"]) if f.get("type") == "message" else ("r", None)
                  for f in frames if f.get("type") in ("message", "resync")]
        prev, saw_notice = 0, False
        for kind, seq in stream:
            if kind == "r":
                saw_notice = True
                continue
            if seq != prev + 1:
                self.assertTrue(saw_notice, f"seqs {prev + 1}..{seq - 1} lost without a resync notice")
            saw_notice = False
            prev = seq
        # Still connected: a new message arrives live.
        extra = (await S.call("messages.send", conversation_id=g, client_msg_id="after", text="back?"))["seq"]
        frames2, problem = L.read_until(lambda f: f.get("type") == "message", max_frames=50, timeout=10)
        self.assertIsNone(problem, problem)
        self.assertEqual(frames2[-1]["message"]["seq"], extra)

        # Pull what was missed by seq, from the last seq seen before the first loss.
        have = set(live) | {extra}
        first_lost = next(s for s in range(1, extra + 1) if s not in have)
        after, pulled = first_lost - 1, {}
        for _ in range(200):
            L.send_json({"type": "messages.history", "id": f"h{after}", "conversation_id": g,
                         "after": after, "limit": 100})
            got, problem = L.read_until(lambda f: f.get("id") == f"h{after}", max_frames=20, timeout=10)
            self.assertIsNone(problem, problem)
            page = got[-1]
            self.assertEqual(page["type"], "result", page)
            for m in page["data"]["messages"]:
                pulled[m["seq"]] = m
            if not page["data"]["has_more"]:
                break
            after = page["data"]["messages"][-1]["seq"]
        view = sorted(have | set(pulled))
        self.assertEqual(view, list(range(1, extra + 1)), "the view has holes after pulling history")
        self.assertEqual(extra, last + 1)
        self.assertTrue(all(pulled[s]["text"] == TEXT for s in pulled if s in seqs))
        texts = {f["message"]["seq"]: f["message"].get("text") for f in frames if f.get("type") == "message"}
        self.assertTrue(all(t == TEXT for s, t in texts.items() if s in seqs), "a live frame's text differs")


class SlowConsumerClosedTest(SlowBase):
    server_args = ("--slow-consumer-timeout-ms", "2000")

    async def test_reader_that_never_reads_is_closed_with_4030(self):
        sender, stuck, lagging = (self.server.new_user(p) for p in ("snd", "stuck", "lag"))
        S = await self.ws(sender, keep_events=False)
        g = (await S.call("conversations.create", kind="group", title="busy",
                          members=[stuck.id, lagging.id]))["id"]
        never = self.slow(stuck)     # never reads until the end
        late = self.slow(lagging)    # falls behind too, but reads again within the timeout
        dropped_before = self.dropped()
        behind_at = []

        def progress(i):
            if not behind_at and self.dropped() > dropped_before:
                behind_at.append(time.monotonic())

        await flood(S, g, 600, on_progress=progress)
        if not behind_at and self.dropped() > dropped_before:
            behind_at.append(time.monotonic())
        self.assertTrue(behind_at, "nobody fell behind")
        t_behind = behind_at[0]

        # The late reader catches up well inside the timeout and stays.
        await asyncio.sleep(max(0.0, t_behind + 0.6 - time.monotonic()))
        late.send_json({"type": "ping", "id": "late"})
        frames, problem = late.read_until(lambda f: f.get("id") == "late", max_frames=2000, timeout=10)
        self.assertIsNone(problem, problem)
        self.assertIn({"type": "resync", "reason": "slow_consumer"}, frames)

        # The stuck one: keep its connection otherwise alive (a ping frame; the server
        # hears it) but never read, well past the timeout.
        await asyncio.sleep(max(0.0, t_behind + 1.5 - time.monotonic()))
        never.send_frame(OP_PING, b"still here")
        await asyncio.sleep(max(0.0, t_behind + 2.0 + 1.6 - time.monotonic()))
        frames, problem = never.read_until(lambda f: False, max_frames=5000, timeout=10)
        self.assertIsNone(problem, f"{problem}; last frames: {frames[-3:]}")
        self.assertEqual(never.closed_with and never.closed_with[0], 4030,
                         f"closed with {never.closed_with}, frames: {len(frames)}")
        self.assertIn({"type": "resync", "reason": "slow_consumer"}, frames)
        self.assertEqual(frames[-1], {"type": "resync", "reason": "slow_consumer"},
                         "events were sent after the resync notice to a connection that never read")

        # The late reader is still there: ping over the protocol, and a new message.
        late.send_json({"type": "ping", "id": "still"})
        frames, problem = late.read_until(lambda f: f.get("id") == "still", max_frames=2000, timeout=10)
        self.assertIsNone(problem, problem)
        self.assertIsNone(late.closed_with)
        await S.call("messages.send", conversation_id=g, client_msg_id="after", text="after")
        frames, problem = late.read_until(lambda f: f.get("type") == "message", max_frames=50, timeout=10)
        self.assertIsNone(problem, problem)
        self.assertEqual(frames[-1]["message"]["text"], "after")


class SlowConsumerToldTest(SlowBase):
    """A client that stops reading altogether, long enough for every TCP buffer
    between it and natterd to fill: when it reads again, it finds the events
    that were already on their way, then the resync notice, then close 4030 -
    it can tell it was too slow, not merely cut off."""
    server_args = ("--slow-consumer-timeout-ms", "1500")

    async def test_stalled_reader_with_full_buffers_reads_notice_and_4030(self):
        sender, stuck = self.server.new_user("snd"), self.server.new_user("stuck")
        S = await self.ws(sender, keep_events=False)
        g = (await S.call("conversations.create", kind="group", title="busy", members=[stuck.id]))["id"]
        # Default socket buffers, never read: 900 x 15 KB is far more than the
        # kernel buffers of both ends hold, so natterd's writes block.
        never = SlowSocket(self.server.port, stuck.token, rcvbuf=None)
        self.raws.append(never)
        await flood(S, g, 900)
        self.assertGreater(self.dropped(), 0, "the stuck reader never fell behind")
        # Past the timeout and the close linger (3 s) with nothing read.
        await asyncio.sleep(1.5 + 3.0 + 2.0)
        frames, problem = never.read_until(lambda f: False, max_frames=5000, timeout=20)
        self.assertIsNone(problem, f"{problem} after {[f.get('type') for f in frames[-3:]]}")
        self.assertEqual(never.closed_with and never.closed_with[0], 4030, f"closed with {never.closed_with}")
        self.assertEqual(frames[-1], {"type": "resync", "reason": "slow_consumer"})


class UnreadAnswersTest(SlowBase):
    """Clients that ask and never read their answers: each connection holds at
    most --send-queue-bytes of answers and events plus the answers to 16
    requests; past that natterd stops reading it (the client's sends block),
    so memory stays bounded, others are served meanwhile, and a connection
    that stays so past --slow-consumer-timeout-ms is closed with 4030."""
    queue_bytes = 1 << 20
    server_args = ("--slow-consumer-timeout-ms", "2000")
    # Under TSan shadow memory grows several times what natterd touches; the
    # bound stays far below an unbounded queue's (gigabytes in seconds).
    MAX_GROWTH_MB = {"": 40, "address": 120, "thread": 300}.get(os.environ.get("NATTER_SANITIZER", ""), 120)

    async def test_history_requests_never_read_hold_bounded_memory_then_4030(self):
        asker, other = self.server.new_user("ask"), self.server.new_user("other")
        A = await self.ws(asker, keep_events=False)
        g = (await A.call("conversations.create", kind="group", title="long", members=[other.id]))["id"]
        for i in range(100):  # one history page: about 200 KB
            await A.call("messages.send", conversation_id=g, client_msg_id=f"h{i}", text="h" * 2000)
        polite = await self.ws(other, keep_events=False)
        pid = self.server.proc.pid
        before = h.rss_mb(pid)
        peak = [before]
        socks = [SlowSocket(self.server.port, asker.token, rcvbuf=None) for _ in range(3)]
        self.raws.extend(socks)
        blocked = [False] * len(socks)
        stop = time.monotonic() + 6

        def ask(k, sock):
            # A small send buffer: once natterd stops reading, sends block at once.
            sock.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
            sock.sock.settimeout(0.5)
            n = 0
            while time.monotonic() < stop:
                try:
                    sock.send_json({"type": "messages.history", "id": n, "conversation_id": g, "limit": 100})
                except (socket.timeout, BlockingIOError):
                    blocked[k] = True  # natterd stopped reading: a partial frame ends this sender
                    return
                n += 1

        threads = [threading.Thread(target=ask, args=(k, sk), daemon=True) for k, sk in enumerate(socks)]
        for t in threads:
            t.start()
        slowest = 0.0
        while any(t.is_alive() for t in threads):
            peak.append(h.rss_mb(pid))
            t0 = time.monotonic()
            await polite.call("ping")  # others are served meanwhile
            slowest = max(slowest, time.monotonic() - t0)
            await asyncio.sleep(0.2)
        peak.append(h.rss_mb(pid))
        self.assertTrue(all(blocked), f"natterd kept reading a client that reads nothing: {blocked}")
        self.assertLess(max(peak) - before, self.MAX_GROWTH_MB,
                        f"RSS grew from {before:.0f} to {max(peak):.0f} MiB")
        self.assertLess(slowest, 2.0 * (3 if SANITIZED else 1), "a polite client waited")
        # Past the timeout and the close linger: each reads answers, then 4030.
        await asyncio.sleep(2.0 + 3.0 + 1.0)
        for sock in socks:
            frames, problem = sock.read_until(lambda f: False, max_frames=10000, timeout=20)
            self.assertIsNone(problem, f"{problem} after {[f.get('type') for f in frames[-3:]]}")
            self.assertEqual(sock.closed_with and sock.closed_with[0], 4030, f"closed with {sock.closed_with}")
            kinds = {f.get("type") for f in frames}
            self.assertIn("result", kinds)
            self.assertNotIn("error", kinds)  # nothing was refused: the client was made to wait
        self.assertEqual(await polite.call("ping"), {"pong": True})


def socket_queues(sock):
    """Both ends of a reader's TCP connection as `ss` sees them: bytes waiting in
    natterd's Send-Q mean the kernel is pacing the window; none there and none in
    the reader's Recv-Q mean natterd stopped writing."""
    try:
        port = sock.sock.getsockname()[1]
        out = subprocess.run(["ss", "-tni", f"( sport = :{port} or dport = :{port} )"],
                             capture_output=True, text=True, timeout=5).stdout
        return "ss: " + " | ".join(line.strip() for line in out.splitlines()[1:])
    except Exception as e:  # a diagnostic only
        return f"ss failed: {e!r}"


class SlowButKeepingUpTest(SlowBase):
    """Readers that are slow but never too slow (the default 1 MB queue holds
    everything): every frame arrives intact, none is dropped or doubled, and
    seq and pts are dense. Frames wait in the send queue while earlier ones are
    still being written, which is exactly when the queue grows."""
    queue_bytes = 1 << 20

    async def test_slow_readers_receive_every_frame_intact(self):
        readers_n, per_round = 6, 2000
        problems = []
        rounds = 0
        started = time.monotonic()
        while rounds < 16 and time.monotonic() - started < 15 and not problems:
            rounds += 1
            sender = self.server.new_user("snd")
            readers = [self.server.new_user("rd") for _ in range(readers_n)]
            S = await self.ws(sender, keep_events=False)
            g = (await S.call("conversations.create", kind="group", title="fast",
                              members=[u.id for u in readers]))["id"]
            # An 8 KB window, so writes back up in natterd. A smaller one (2 KB) closes
            # whenever natterd writes faster than the reader reads, and Linux then
            # reopens it one segment per delayed ACK or zero-window probe, which back
            # off to seconds: the kernel, not natterd, would set the pace (seen on a
            # busy machine as a reader stuck short of END with natterd's Send-Q full).
            rcvbuf = 8192
            socks = [SlowSocket(self.server.port, u.token, rcvbuf=rcvbuf) for u in readers]
            self.raws.extend(socks)
            results = [{"frames": [], "problem": None} for _ in socks]

            def read(sock, res, deadline):
                while True:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        res["problem"] = (f"END not reached ({len(res['frames'])} frames read); "
                                          f"{socket_queues(sock)}")
                        return
                    try:
                        frame = sock.recv_frame(remaining)
                    except socket.timeout:
                        continue
                    except Exception as e:  # a corrupt header: bad RSV bits, a masked frame...
                        res["problem"] = f"undecodable frame after {len(res['frames'])} frames: {e!r}"
                        return
                    if frame is None:
                        res["problem"] = f"EOF after {len(res['frames'])} frames"
                        return
                    op, payload = frame
                    if op != OP_TEXT:
                        continue
                    try:
                        obj = json.loads(payload.decode("utf-8"))
                    except (UnicodeDecodeError, ValueError):
                        res["problem"] = (f"frame {len(res['frames'])} is not UTF-8 JSON: "
                                          f"{payload[:70]!r} ... {payload[-50:]!r}")
                        return
                    res["frames"].append(obj)
                    if len(res["frames"]) % 20 == 0:
                        time.sleep(0.002)  # a slow reader
                    if obj.get("type") == "message" and obj["message"].get("text") == "END":
                        return

            deadline = time.monotonic() + 30
            threads = [threading.Thread(target=read, args=(sk, res, deadline), daemon=True)
                       for sk, res in zip(socks, results)]
            for t in threads:
                t.start()
            pending = []
            for i in range(per_round):
                pending.append(await S.send_request("messages.send", conversation_id=g, client_msg_id=f"k{i}",
                                                    text="y" * 50 if i < per_round - 1 else "END"))
                if len(pending) >= 200:
                    self.assertEqual((await S.answer(pending.pop(0), timeout=30))["type"], "result")
            for rid in pending:
                self.assertEqual((await S.answer(rid, timeout=30))["type"], "result")
            while any(t.is_alive() for t in threads) and time.monotonic() < deadline + 1:
                await asyncio.sleep(0.05)
            for n, res in enumerate(results):
                who = f"round {rounds}, reader {n}"
                if res["problem"]:
                    problems.append(f"{who}: {res['problem']}")
                    continue
                frames = res["frames"]
                seqs = [f["message"]["seq"] for f in frames if f.get("type") == "message"]
                pts = [f["pts"] for f in frames if "pts" in f]
                if seqs != list(range(1, per_round + 1)):
                    problems.append(f"{who}: seqs not 1..{per_round}: {len(seqs)} frames")
                if pts != list(range(pts[0], pts[0] + len(pts))):
                    problems.append(f"{who}: pts not dense")
                if any(f.get("type") == "resync" for f in frames):
                    problems.append(f"{who}: a resync notice although the queue never filled")
            for sk in socks:
                sk.close()
        self.assertEqual(problems, [], f"in {rounds} round(s):\n" + "\n".join(problems))


if __name__ == "__main__":
    h.main()
