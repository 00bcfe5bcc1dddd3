"""Crash reports: natterd sent SIGSEGV (its handler runs for a sent signal as
for a fault) writes <data-dir>/crash/crash-<start>-<pid>.new with the signal,
the time, its version and a backtrace, and still dies of that signal; the next
start logs the report, marks it seen (.txt) and counts it in /metrics; only
the newest --crash-reports-keep are kept."""

import json
import os
import re
import resource
import signal
import stat
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import natter_harness as h  # noqa: E402

REPORT_NAME = re.compile(r"^crash-\d{8}T\d{6}\.\d{3}Z-(\d+)\.(new|txt)$")


class CrashReportTest(h.unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # The crashes made here leave no core files behind.
        _, hard = resource.getrlimit(resource.RLIMIT_CORE)
        resource.setrlimit(resource.RLIMIT_CORE, (0, hard))

    def setUp(self):
        self.server = h.Natterd("--crash-reports-keep", "2")

    def tearDown(self):
        self.server.close()

    def crash_dir(self):
        return os.path.join(self.server.data_dir, "data", "crash")

    def reports(self):
        return sorted(os.listdir(self.crash_dir()))

    def crash(self, signo):
        """Sends `signo` to the running natterd; the name of the report it wrote."""
        before = set(self.reports())
        pid = self.server.proc.pid
        os.kill(pid, signo)
        rc = self.server.proc.wait(30)
        self.assertEqual(rc, -signo, "natterd did not die of the signal it was sent")
        new = sorted(set(self.reports()) - before)
        self.assertEqual(len(new), 1, self.reports())
        m = REPORT_NAME.match(new[0])
        self.assertIsNotNone(m, new[0])
        self.assertEqual((int(m.group(1)), m.group(2)), (pid, "new"))
        return new[0]

    def start(self):
        """Starts natterd again; the lines it logged at this start."""
        seen = len(self.server.log)
        self.server.start()
        return "\n".join(self.server.log[seen:])

    def test_a_crash_leaves_a_report_the_next_start_logs_and_counts(self):
        self.start()
        self.server.new_user("crash")  # it served something first
        name = self.crash(signal.SIGSEGV)
        path = os.path.join(self.crash_dir(), name)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(self.crash_dir()).st_mode), 0o700)
        with open(path) as f:
            text = f.read()
        self.assertIn("signal: SIGSEGV (11)\n", text)
        self.assertIn(f"sent by: pid {os.getpid()} ", text)
        self.assertRegex(text, r"\ntime: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\n")
        self.assertRegex(text, r"\nuptime: \d+\.\d{3} s\n")
        self.assertRegex(text, r"\nversion: \d+\.\d+\.\d+\n")
        self.assertIn(f"\npid: {self.server.proc.pid}\n", text)
        # The ids of the requests it served, newest first: the login after the registration,
        # as the log's access lines name them.
        logins = [json.loads(line)["request_id"] for line in self.server.log
                  if '"msg":"http_request"' in line and '"path":"/v1/auth/login"' in line]
        self.assertTrue(logins, self.server.log_text())
        recent = re.search(r"\nrecent request ids \(newest first\): ([0-9a-f ]+)\n", text)
        self.assertIsNotNone(recent, text)
        self.assertEqual(recent.group(1).split()[0], logins[-1])
        frames = text.split("\nbacktrace:\n", 1)[1].strip().splitlines()
        self.assertGreaterEqual(len(frames), 3, text)
        self.assertTrue(any("natterd" in frame for frame in frames), text)
        note = f"SIGSEGV; crash report in {path}"
        deadline = time.monotonic() + 5
        while note not in self.server.log_text() and time.monotonic() < deadline:
            time.sleep(0.05)  # the last lines may still be on their way from the pipe
        self.assertIn(note, self.server.log_text())

        log = self.start()
        seen = name[: -len(".new")] + ".txt"
        self.assertEqual(self.reports(), [seen])
        self.assertIn("natterd crashed before this start: signal: SIGSEGV (11), time: ", log)
        self.assertIn(os.path.join(self.crash_dir(), seen), log)
        metrics = self.server.metrics()
        self.assertEqual(metrics["natter_crash_reports_total"], 1)
        self.assertEqual(metrics["natter_crash_reports_kept"], 1)

        # Seen once: the start after a clean stop finds nothing new.
        self.assertEqual(self.server.stop(), 0)
        log = self.start()
        self.assertNotIn("natterd crashed", log)
        metrics = self.server.metrics()
        self.assertEqual(metrics["natter_crash_reports_total"], 0)
        self.assertEqual(metrics["natter_crash_reports_kept"], 1)

    def test_only_the_newest_reports_are_kept(self):
        names = []
        for signo in (signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS):
            self.start()
            names.append(self.crash(signo))
            with open(os.path.join(self.crash_dir(), names[-1])) as f:
                text = f.read()
            self.assertIn(f"signal: {signal.Signals(signo).name} ({int(signo)})\n", text)
        log = self.start()
        self.assertIn("signal: SIGBUS", log)
        self.assertIn("crash reports: deleted the 1 oldest, keeping 2", log)
        self.assertEqual(self.reports(), [n[: -len(".new")] + ".txt" for n in names[1:]])
        metrics = self.server.metrics()
        self.assertEqual(metrics["natter_crash_reports_total"], 1)
        self.assertEqual(metrics["natter_crash_reports_kept"], 2)


if __name__ == "__main__":
    h.main()
