"""natter-bench against a server that fails: nothing listening, or natterd
killed mid-run. It must report what happened, keep its partial results, exit
non-zero and never hang. And a small clean run must produce its three outputs."""

import glob
import json
import os
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time

import natter_harness as h

# Neither provisioning nor load is throttled (as scripts/bench.sh starts natterd).
BENCH_LIMITS = ("--max-conversations-per-hour", "1000000", "--max-member-adds-per-hour", "100000000")

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.environ.get("NATTER_BENCH") or os.path.join(HERE, "..", "..", "build", "release", "bench", "natter-bench")


def run_bench(args, timeout=120):
    out = tempfile.mkdtemp(prefix="natter-bench-it-")
    started = time.monotonic()
    proc = subprocess.run([BENCH, "--out", out, *args], capture_output=True, text=True, timeout=timeout)
    return proc, out, time.monotonic() - started


class BenchTest(h.unittest.TestCase):
    def test_refused_connection_is_reported_and_exits_non_zero(self):
        with h.socket.socket() as s:  # a port with nothing listening
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        proc, out, took = run_bench(["--server", f"127.0.0.1:{port}", "--scenario", "connections",
                                     "--connections", "10", "--hold", "1"])
        self.assertNotEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertLess(took, 60)
        self.assertRegex((proc.stdout + proc.stderr).lower(), "refused|connect|unreachable")

    def test_clean_small_run_writes_table_json_and_html(self):
        server = h.Natterd("--requests-per-second", "1000000", "--request-burst", "1000000", *BENCH_LIMITS).start()
        try:
            proc, out, _ = run_bench(["--server", f"127.0.0.1:{server.port}", "--server-pid", str(server.proc.pid),
                                      "--scenario", "direct", "--pairs", "5", "--direct-seconds", "1"])
            self.assertEqual(proc.returncode, 0, proc.stdout[-3000:] + proc.stderr[-3000:])
            self.assertIn("acknowledged sends", proc.stdout)
            reports = glob.glob(os.path.join(out, "*.json"))
            self.assertEqual(len(reports), 1)
            with open(reports[0]) as f:
                report = json.load(f)
            self.assertIn("direct", json.dumps(report))
            self.assertEqual(len(glob.glob(os.path.join(out, "*.html"))), 1)
        finally:
            server.close()

    def test_encrypted_fanout_is_accepted_and_delivered_whole(self):
        server = h.Natterd("--requests-per-second", "1000000", "--request-burst", "1000000", *BENCH_LIMITS).start()
        try:
            proc, out, _ = run_bench(["--server", f"127.0.0.1:{server.port}", "--server-pid", str(server.proc.pid),
                                      "--scenario", "fanout", "--group-size", "20", "--encrypted",
                                      "--fanout-seconds", "1", "--fanout-deliveries", "2000"])
            self.assertEqual(proc.returncode, 0, proc.stdout[-3000:] + proc.stderr[-3000:])
            with open(glob.glob(os.path.join(out, "*.json"))[0]) as f:
                fanout = json.load(f)["scenarios"][0]
            self.assertTrue(fanout["parameters"]["encrypted"])
            figures = {key: f["value"] for key, f in fanout["figures"].items()}
            self.assertGreater(figures["flat_k20_sends_per_s"], 0)
            self.assertEqual((figures["unanswered_sends"], figures["lost_messages"]), (0, 0))
            self.assertEqual(fanout["counters"].get("send_errors", 0), 0, fanout["counters"])
            # The sends were end-to-end encrypted: each left its envelope, no text.
            with sqlite3.connect(f"file:{os.path.join(server.data_dir, 'data', 'natter.db')}?mode=ro", uri=True) as db:
                envelopes = db.execute("SELECT count(*) FROM message_envelopes").fetchone()[0]
                texts = db.execute("SELECT count(*) FROM messages WHERE kind = 'message' AND body != ''").fetchone()[0]
            self.assertGreater(envelopes, 0)
            self.assertEqual(texts, 0)
        finally:
            server.close()

    def test_upload_scenario_sends_files_and_photos_and_checks_them(self):
        server = h.Natterd("--requests-per-second", "1000000", "--request-burst", "1000000", *BENCH_LIMITS).start()
        try:
            proc, out, _ = run_bench(["--server", f"127.0.0.1:{server.port}", "--server-pid", str(server.proc.pid),
                                      "--scenario", "upload", "--upload-clients", "2", "--upload-files", "2",
                                      "--upload-file-mib", "1", "--upload-photos", "1", "--photo-width", "400"],
                                     timeout=300)  # libvips under ThreadSanitizer takes seconds a photo
            self.assertEqual(proc.returncode, 0, proc.stdout[-3000:] + proc.stderr[-3000:])
            with open(glob.glob(os.path.join(out, "*.json"))[0]) as f:
                report = json.load(f)
            upload = next(s for s in report["scenarios"] if s["name"] == "upload")
            figures = {key: f["value"] for key, f in upload["figures"].items()}
            self.assertGreater(figures["files_mib_per_s"], 0)
            self.assertGreater(figures["photo_processing_p50_ms"], 0)
            # Every upload was stored: 2 x 2 distinct files, and the photo (the
            # same picture for both, stored once: display version, thumbnail).
            blobs = os.path.join(server.data_dir, "data", "media", "blobs")
            self.assertEqual(sum(len(files) for _, _, files in os.walk(blobs)), 4 + 2)
        finally:
            server.close()

    def test_server_killed_mid_run_keeps_partial_results(self):
        server = h.Natterd("--requests-per-second", "1000000", "--request-burst", "1000000", *BENCH_LIMITS).start()
        try:
            killer = threading.Timer(2.5, lambda: server.proc.send_signal(signal.SIGKILL))
            killer.start()
            proc, out, took = run_bench(["--server", f"127.0.0.1:{server.port}", "--server-pid", str(server.proc.pid),
                                         "--scenario", "direct", "--pairs", "10", "--direct-seconds", "4"])
            killer.cancel()
            self.assertNotEqual(proc.returncode, 0, proc.stdout[-2000:])
            self.assertLess(took, 90)
            # The partial results are kept in the reports.
            self.assertEqual(len(glob.glob(os.path.join(out, "*.json"))), 1, proc.stdout[-2000:] + proc.stderr[-2000:])
        finally:
            server.close()


if __name__ == "__main__":
    h.main()
