"""Monitoring as shipped: deploy/prometheus's alert rules pass promtool (syntax and
their unit tests), and a real Prometheus scraping a real natterd (with NATS and
the push stand-ins, so every family of series exists) loads the rules healthy and
answers every query of deploy/grafana/natter-dashboard.json with data.

A query "has data" when Prometheus answers success with at least one series. A
histogram_quantile, or a ratio of rates, over a window without observations is
NaN: that still counts (Grafana draws a gap), but only for those expressions;
anything else must be a number. A few panels must also show the traffic made here."""

import asyncio
import json
import math
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import natter_harness as h  # noqa: E402
from client_harness import TestCA  # noqa: E402
from natter_harness import WsClient  # noqa: E402
from push_standins import PushStandins  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
ALERTS = os.path.join(ROOT, "deploy", "prometheus", "natter-alerts.yml")
ALERT_TESTS = os.path.join(ROOT, "deploy", "prometheus", "natter-alerts.test.yml")
EXAMPLE_CONFIG = os.path.join(ROOT, "deploy", "prometheus", "prometheus.yml")
DASHBOARD = os.path.join(ROOT, "deploy", "grafana", "natter-dashboard.json")


def program(name, *fallbacks):
    found = shutil.which(name)
    if found:
        return found
    for path in fallbacks:
        if os.path.exists(path):
            return path
    raise AssertionError(f"{name} not found (scripts/install-deps.sh installs it)")


def free_port():
    with socket.socket() as s:
        s.bind((h.HOST, 0))
        return s.getsockname()[1]


def alert_names():
    """The alerts of natter-alerts.yml, in order (read without a YAML library)."""
    with open(ALERTS) as f:
        return re.findall(r"^\s*- alert:\s*(\S+)\s*$", f.read(), re.M)


def dashboard_panels(panels):
    """Every panel, those inside rows included (a collapsed row holds its own)."""
    for panel in panels:
        yield panel
        yield from dashboard_panels(panel.get("panels", []))


def substitute(expr, values):
    """expr with Grafana's variables ($name, ${name}, ${name:format}) replaced;
    an unknown one is an error rather than a query that silently matches nothing."""
    def one(m):
        name = m.group(1) or m.group(2)
        if name not in values:
            raise AssertionError(f"unknown dashboard variable ${name} in {expr}")
        return values[name]
    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", one, expr)


class Process:
    """A program of the test's own, its output in a log file; stopped by pid."""

    def __init__(self, name, cmd, log_dir):
        self.name = name
        self.log_path = os.path.join(log_dir, name + ".log")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def running(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def log_tail(self, lines=40):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""


def wait_until(what, check, timeout, proc=None, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and not proc.running():
            raise AssertionError(f"{proc.name} exited while waiting for {what}:\n{proc.log_tail()}")
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(interval)
    tail = f":\n{proc.log_tail()}" if proc is not None else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}{tail}")


def port_open(port):
    with socket.create_connection((h.HOST, port), timeout=0.5):
        return True


class RulesTest(unittest.TestCase):
    def promtool(self, *args):
        proc = subprocess.run([program("promtool", "/usr/bin/promtool"), *args], capture_output=True, text=True,
                              timeout=60)
        self.assertEqual(proc.returncode, 0, f"promtool {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}")
        return proc.stdout

    def test_the_rules_pass_promtool_and_their_unit_tests(self):
        out = self.promtool("check", "rules", ALERTS)
        self.assertIn(f"SUCCESS: {len(alert_names())} rules found", out)
        self.promtool("test", "rules", ALERT_TESTS)

    def test_the_example_config_is_valid(self):
        self.promtool("check", "config", EXAMPLE_CONFIG)

    def test_every_alert_has_a_severity_and_both_annotations(self):
        with open(ALERTS) as f:
            blocks = re.split(r"^\s*- alert:", f.read(), flags=re.M)[1:]
        self.assertGreaterEqual(len(blocks), 10)
        for block in blocks:
            name = block.split()[0]
            self.assertRegex(block, r"\n\s+severity: (critical|warning)\n", name)
            self.assertRegex(block, r"\n\s+summary: ", name)
            self.assertRegex(block, r"\n\s+description: ", name)


class DashboardTest(h.AsyncTestCase):
    """One natterd (--nats, push stand-ins), nats-server and Prometheus for the class."""

    timeout = 90
    RATE_INTERVAL = "30s"

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="natter-prom-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, ignore_errors=True)
        cls.nats = cls.start_with_free_port(
            "nats-server", lambda port: [program("nats-server", "/usr/sbin/nats-server"), "-a", h.HOST,
                                         "-p", str(port)])
        cls.standins = PushStandins(cls.dir, TestCA(cls.dir, "push-ca"))
        cls.addClassCleanup(cls.standins.close)
        cls.server = h.Natterd("--nats", f"nats://{h.HOST}:{cls.nats.port}", *cls.standins.natterd_args(),
                               "--push-delay-ms", "200")
        cls.addClassCleanup(cls.server.close)
        cls.server.start()
        cls.instance = f"{h.HOST}:{cls.server.port}"
        cls.prometheus = cls.start_with_free_port("prometheus", cls.prometheus_command, ready_path="/-/ready")

    @classmethod
    def start_with_free_port(cls, name, command, ready_path=None):
        """Starts `command(port)` on a free port (again on another if that one was
        taken meanwhile); waits until it listens (and answers ready_path 200)."""
        for attempt in range(3):
            port = free_port()
            proc = Process(name, command(port), cls.dir)
            proc.port = port
            cls.addClassCleanup(proc.stop)
            try:
                wait_until(f"{name} on port {port}", lambda: port_open(port), 20, proc)
                if ready_path:
                    wait_until(f"{name} ready", lambda: cls.get(port, ready_path)[0] == 200, 20, proc)
                return proc
            except AssertionError:
                proc.stop()
                if attempt == 2 or "address already in use" not in proc.log_tail().lower():
                    raise
        raise AssertionError("unreachable")

    @classmethod
    def prometheus_command(cls, port):
        config = os.path.join(cls.dir, "prometheus.yml")
        with open(config, "w") as f:
            f.write(f"""global:
  scrape_interval: 2s
  scrape_timeout: 2s
  evaluation_interval: 1s
rule_files:
  - {json.dumps(ALERTS)}
scrape_configs:
  - job_name: natter
    static_configs:
      - targets: ["{cls.instance}"]
""")
        return [program("prometheus", "/usr/bin/prometheus"), f"--config.file={config}",
                f"--storage.tsdb.path={os.path.join(cls.dir, 'tsdb')}", f"--web.listen-address={h.HOST}:{port}",
                "--storage.tsdb.retention.time=1h", "--log.level=warn"]

    @staticmethod
    def get(port, path, params=None):
        url = f"http://{h.HOST}:{port}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params, doseq=True)
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def api(self, path, **params):
        status, body = self.get(self.prometheus.port, "/api/v1/" + path, params)
        answer = json.loads(body)
        self.assertEqual((status, answer.get("status")), (200, "success"), f"{path} {params}: {body[:500]}")
        return answer["data"]

    async def aapi(self, path, **params):
        return await asyncio.to_thread(self.api, path, **params)

    # -- traffic ------------------------------------------------------------------

    async def setup_traffic(self):
        """Users, connections and conversations; a device whose push the stand-in
        refuses, and one it accepts, both offline."""
        new_user = lambda prefix: asyncio.to_thread(self.server.new_user, prefix)  # noqa: E731
        self.alice, self.bob, self.carol, self.dave = [await new_user(p) for p in ("pa", "pb", "pc", "pd")]
        self.a = await WsClient.connect(self.server, token=self.alice.token, keep_events=False)
        self.b = await WsClient.connect(self.server, token=self.bob.token, keep_events=False)
        self.clients = [self.a, self.b]
        refused, accepted = secrets.token_hex(32), secrets.token_hex(32)
        self.standins.script(refused, (413, {"reason": "PayloadTooLarge"}, {}))
        for user, token in ((self.carol, refused), (self.dave, accepted)):
            status, body = await asyncio.to_thread(self.server.http, "PUT", "/v1/me/push-device",
                                                   {"platform": "apns", "token": token}, token=user.token)
            self.assertEqual(status, 200, body)
        self.group = (await self.a.call("conversations.create", kind="group", title="ops",
                                        members=[self.bob.id]))["id"]
        self.to_carol = (await self.a.call("conversations.create", kind="direct", peer_id=self.carol.id))["id"]
        self.to_dave = (await self.a.call("conversations.create", kind="direct", peer_id=self.dave.id))["id"]
        self.rounds = 0

    async def traffic_round(self):
        n = self.rounds = self.rounds + 1
        msg = f"m{n}-{secrets.token_hex(4)}"
        await self.a.call("messages.send", conversation_id=self.group, client_msg_id=msg, text=f"hello {n}")
        # The same client_msg_id again: answered as a duplicate.
        await self.a.call("messages.send", conversation_id=self.group, client_msg_id=msg, text=f"hello {n}")
        await self.b.call("messages.send", conversation_id=self.group, client_msg_id=msg + "b", text="hi")
        # Pushes to the offline devices (the stand-in refuses carol's first).
        for cid in (self.to_carol, self.to_dave):
            await self.a.call("messages.send", conversation_id=cid, client_msg_id=f"{msg}-{cid}", text="there?")
        await self.b.call("sync")
        status, body = await asyncio.to_thread(self.server.http, "GET", "/v1/sync", token=self.bob.token)
        self.assertEqual(status, 200, body)
        await self.b.call("ping")
        await self.b.error("messages.send", conversation_id=self.group, client_msg_id="", text="")
        if n == 1:  # one failed login (more would run into the login limit)
            status, _ = await asyncio.to_thread(self.server.login, self.alice.handle, "not the password")
            self.assertEqual(status, 401)
        # A connection opened and closed: natter_connections_total moves.
        extra = await WsClient.connect(self.server, token=self.bob.token, keep_events=False)
        await extra.call("ping")
        await extra.close()

    async def keep_traffic(self, stop):
        while not stop.is_set():
            await self.traffic_round()
            try:
                await asyncio.wait_for(stop.wait(), 0.3)
            except asyncio.TimeoutError:
                pass

    # -- the test -----------------------------------------------------------------

    async def test_prometheus_loads_the_rules_and_every_dashboard_query_has_data(self):
        started = time.monotonic()
        await asyncio.to_thread(wait_until, "natterd's target up",
                                lambda: self.api("query", query=f'up{{job="natter",instance="{self.instance}"}} == 1')
                                ["result"], 20, self.prometheus)
        await self.setup_traffic()
        stop = asyncio.Event()
        traffic = asyncio.create_task(self.keep_traffic(stop))
        try:
            # Enough scrapes of the traffic for every rate() to have two samples.
            await asyncio.sleep(4)
            answers = await self.query_dashboard_until_complete(deadline=started + 45)
        finally:
            stop.set()
            await asyncio.wait_for(traffic, 15)
            for c in self.clients:
                await c.close()
        self.check_traffic_shows(answers)
        await self.check_variables()
        await self.check_rules()

    def dashboard_queries(self):
        with open(DASHBOARD) as f:
            dashboard = json.load(f)
        variables = {
            "__rate_interval": self.RATE_INTERVAL, "__interval": "1s", "__interval_ms": "1000",
            "__range": "1m", "__range_s": "60", "__range_ms": "60000",
            "job": "natter", "instance": self.instance, "datasource": "prometheus",
        }
        queries = []
        for panel in dashboard_panels(dashboard["panels"]):
            for target in panel.get("targets", []):
                if target.get("hide"):
                    continue
                queries.append((panel["title"], target["refId"], target["expr"],
                                substitute(target["expr"], variables)))
        return dashboard, queries

    async def query_dashboard_until_complete(self, deadline):
        """Queries every target until all have data or the deadline passes (series
        that appear with the traffic need two scrapes before rate() sees them)."""
        _, queries = self.dashboard_queries()
        self.assertGreaterEqual(len(queries), 40)
        answers, missing = {}, list(queries)
        while True:
            still = []
            for title, ref, template, expr in missing:
                data = await self.aapi("query", query=expr)
                problem = self.problem_with(template, data)
                if problem:
                    still.append((title, ref, template, expr, problem))
                else:
                    answers[(title, ref)] = data["result"]
            missing = [q[:4] for q in still]
            if not missing:
                return answers
            if time.monotonic() > deadline:
                self.fail("dashboard queries without data:\n" +
                          "\n".join(f"  {t} [{r}]: {p}\n    {e}" for t, r, _, e, p in still))
            await asyncio.sleep(1.0)

    @staticmethod
    def problem_with(template, data):
        if data["resultType"] == "scalar":
            return None
        if data["resultType"] != "vector":
            return f"a {data['resultType']}, not a vector"
        if not data["result"]:
            return "no series"
        values = [float(s["value"][1]) for s in data["result"]]
        if all(math.isnan(v) for v in values) and not ("histogram_quantile" in template or " / " in template):
            return f"only NaN: {data['result']}"
        return None

    def check_traffic_shows(self, answers):
        def samples(title, ref="A"):
            return [(s["metric"], float(s["value"][1])) for s in answers[(title, ref)]]

        def one(title, ref="A"):
            got = samples(title, ref)
            self.assertEqual(len(got), 1, (title, ref, got))
            return got[0][1]

        def by(title, label, ref="A"):
            return {metric.get(label): value for metric, value in samples(title, ref)}

        self.assertEqual(one("Nodes up"), 1)  # a scrape may take 2 s before it counts as failed
        self.assertEqual(one("Broker connected"), 1)
        methods = by("Requests/s by method", "method")
        self.assertGreater(methods.get("messages.send", 0), 0, methods)
        for method in ("sync", "ping", "conversations.create", "auth.login"):
            self.assertIn(method, methods)
        codes = by("Errors/s by code", "code")
        self.assertLessEqual({"bad_request", "unauthorized"}, set(codes), codes)
        self.assertNotIn("ok", codes)
        for ref in ("A", "B", "C"):  # accepted, delivered, duplicates
            self.assertGreater(one("Messages/s", ref), 0, ref)
        p99 = by("Request latency p99 by method", "method")
        self.assertTrue(0 < p99["messages.send"] < 10, p99)
        self.assertTrue(0 < one("Commit latency p99") < 10)
        self.assertEqual(set(by("WebSocket connections by state", "state")), {"authenticating", "authenticated"})
        self.assertEqual(set(by("Queue depth", "queue")), {"store", "hash"})
        self.assertIn("PayloadTooLarge", by("Push failures/s by reason", "reason"))
        self.assertGreater(by("Push notifications/s", "provider")["apns"], 0)
        self.assertLess(one("File descriptors", "A"), one("File descriptors", "B"))

    async def check_variables(self):
        """The job and instance variables' label_values() queries find this node."""
        dashboard, _ = self.dashboard_queries()
        found = {}
        for var in dashboard["templating"]["list"]:
            if var["type"] != "query":
                continue
            query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
            m = re.fullmatch(r"label_values\((.+), *(\w+)\)", query)
            self.assertIsNotNone(m, query)
            match = substitute(m.group(1), {"job": "natter"})
            values = await self.aapi(f"label/{m.group(2)}/values", **{"match[]": match})
            found[var["name"]] = values
        self.assertEqual(found.get("job"), ["natter"])
        self.assertIn(self.instance, found.get("instance", []))

    async def check_rules(self):
        """Every alert of the file is loaded, evaluated and healthy; none of the
        ones about this node being down fires."""
        expected = alert_names()
        deadline = time.monotonic() + 10
        while True:
            groups = (await self.aapi("rules", type="alert"))["groups"]
            rules = {r["name"]: r for g in groups if g["name"] == "natter" for r in g["rules"]}
            unhealthy = {n: (r.get("health"), r.get("lastError")) for n, r in rules.items() if r.get("health") != "ok"}
            if sorted(rules) == sorted(expected) and not unhealthy:
                break
            if time.monotonic() > deadline:
                self.fail(f"rules not all loaded and healthy: loaded {sorted(rules)}, expected {sorted(expected)}; "
                          f"unhealthy {unhealthy}")
            await asyncio.sleep(0.5)
        for name in ("NatterNodeDown", "NatterTargetsMissing", "NatterBrokerDisconnected",
                     "NatterFileDescriptorsNearLimit"):
            self.assertEqual(rules[name]["state"], "inactive", (name, rules[name].get("alerts")))


if __name__ == "__main__":
    h.main()
