"""What an operator reads: natterd's log as JSON lines (its default when
stdout is not a terminal) with an access line per HTTP request and per
WebSocket session, security events at warning, a request id that ties a
request's lines together (a W3C traceparent's trace id when one is sent), and
never a password, a token or a message's text; /metrics in the Prometheus
format with labelled series, process metrics and natter_build_info."""

import asyncio
import http.client
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import natter_harness as h  # noqa: E402

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SECRET_TEXT = "the-secret-text-of-a-message-7f3a"


def raw_request(port, method, path, body=None, headers=None):
    """(status, response headers, body text) of one request."""
    conn = http.client.HTTPConnection(h.HOST, port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read().decode("utf-8", "replace")
    finally:
        conn.close()


class LogsAndMetricsTest(h.ServerTestCase):
    server_args = ("--log-level", "debug")

    def lines(self):
        """Every log line so far, parsed: each one must be a JSON object."""
        out = []
        with self.server._log_lock:
            raw = list(self.server.log)
        for line in raw:
            try:
                obj = json.loads(line)
            except ValueError:
                self.fail(f"not a JSON line: {line!r}")
            self.assertIsInstance(obj, dict, line)
            for key in ("ts", "level", "thread", "msg"):
                self.assertIn(key, obj, line)
            out.append(obj)
        return out

    def wait_for(self, pred, what, timeout=5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [o for o in self.lines() if pred(o)]
            if found:
                return found
            time.sleep(0.05)
        self.fail(f"no log line {what} in:\n" + self.server.log_text())

    async def test_a_users_session_is_logged_without_secrets(self):
        alice = self.server.new_user("lg")
        bob = self.server.new_user("lg")
        # A failed login, a 404, a request that is not JSON.
        status, _ = self.server.login(alice.handle, "wrong-password-123")
        self.assertEqual(status, 401)
        status, _, _ = raw_request(self.server.port, "GET", "/v1/nothing-here")
        self.assertEqual(status, 404)
        status, _, _ = raw_request(self.server.port, "POST", "/v1/auth/login", body=b"{not json",
                                   headers={"Content-Type": "application/json"})
        self.assertEqual(status, 400)
        # A WebSocket session that sends a message.
        a = await self.ws(alice)
        cid = (await a.call("conversations.create", kind="direct", peer_id=bob.id))["id"]
        await a.call("messages.send", conversation_id=cid, client_msg_id="s1", text=SECRET_TEXT)
        await a.close()

        closed = self.wait_for(lambda o: o["msg"] == "ws_close" and o.get("user") == alice.id, "ws_close")[-1]
        self.assertEqual(closed["code"], 1000)
        self.assertEqual(closed["by"], "client")
        self.assertGreater(closed["bytes_in"], 0)
        self.assertGreater(closed["bytes_out"], 0)
        self.assertGreaterEqual(closed["duration_ms"], 0)
        conn = closed["connection"]
        self.wait_for(lambda o: o["msg"] == "ws_open" and o.get("connection") == conn, "ws_open")
        self.wait_for(lambda o: o["msg"] == "ws_auth" and o.get("connection") == conn and o["user"] == alice.id,
                      "ws_auth")
        # Each request of the socket: a debug line with its method and outcome.
        sent = self.wait_for(lambda o: o["msg"] == "request" and o.get("method") == "messages.send"
                             and o.get("connection") == conn, "for messages.send")[-1]
        self.assertEqual(sent["code"], "ok")
        self.assertEqual(sent["level"], "debug")
        self.assertEqual(len(sent["request_id"]), 32)

        lines = self.lines()
        access = [o for o in lines if o["msg"] == "http_request"]
        by_path = {(o["method"], o["path"], o["status"]) for o in access}
        self.assertIn(("POST", "/v1/auth/register", 200), by_path)
        self.assertIn(("POST", "/v1/auth/login", 401), by_path)
        self.assertIn(("GET", "/v1/nothing-here", 404), by_path)
        self.assertIn(("POST", "/v1/auth/login", 400), by_path)
        self.assertIn(("GET", "/v1/ws", 101), by_path)
        for o in access:
            for key in ("bytes_in", "bytes_out", "duration_us", "address", "request_id"):
                self.assertIn(key, o, o)
        # The failed login: a warning, with the handle, tied to its access line.
        failed = [o for o in lines if o["msg"] == "login_failed" and o.get("handle") == alice.handle]
        self.assertEqual(len(failed), 1, failed)
        self.assertEqual(failed[0]["level"], "warning")
        self.assertEqual(failed[0]["handle"], alice.handle)
        self.assertIn(("POST", "/v1/auth/login", 401),
                      {(o["method"], o["path"], o["status"]) for o in access
                       if o["request_id"] == failed[0]["request_id"]})
        # Nothing secret, anywhere.
        text = "\n".join(self.server.log)
        for secret in (alice.password, "wrong-password-123", alice.token, bob.token, SECRET_TEXT):
            self.assertNotIn(secret, text)
        self.assertNotIn(alice.refresh, text)

    async def test_a_traceparent_names_the_request_in_the_log_and_the_answer(self):
        alice = self.server.new_user("tp")
        status, headers, _ = raw_request(self.server.port, "GET", f"/v1/users/{alice.id}", headers={
            "Authorization": "Bearer " + alice.token,
            "traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"})
        self.assertEqual(status, 200)
        self.assertEqual(headers.get("X-Request-Id"), TRACE_ID)
        line = self.wait_for(lambda o: o["msg"] == "http_request" and o.get("request_id") == TRACE_ID,
                             "with the trace id")[0]
        self.assertEqual(line["user"], alice.id)
        self.assertEqual(line["path"], f"/v1/users/{alice.id}")
        # Its method's line on the dispatcher carries the same id.
        self.wait_for(lambda o: o["msg"] == "request" and o.get("request_id") == TRACE_ID
                      and o.get("method") == "users.get", "users.get with the trace id")
        # A malformed traceparent is ignored: a fresh id instead.
        status, headers, _ = raw_request(self.server.port, "GET", "/healthz",
                                         headers={"traceparent": "00-XYZ-00f067aa0ba902b7-01"})
        self.assertEqual(status, 200)
        self.assertEqual(len(headers.get("X-Request-Id", "")), 32)
        self.assertNotEqual(headers["X-Request-Id"], TRACE_ID)

    async def test_security_events_are_warnings(self):
        victim = self.server.new_user("sec")
        for _ in range(12):  # past --max-login-failures (10)
            self.server.login(victim.handle, "not-the-password", source="127.0.0.9")
        throttled = self.wait_for(lambda o: o["msg"] == "login_throttled" and o.get("handle") == victim.handle,
                                  "login_throttled")
        self.assertEqual(throttled[0]["level"], "warning")
        # A refresh token used twice: the session is revoked and that is logged.
        first = self.server.http("POST", "/v1/auth/refresh", {"refresh_token": victim.refresh})
        self.assertEqual(first[0], 200, first)
        again = self.server.http("POST", "/v1/auth/refresh", {"refresh_token": victim.refresh})
        self.assertEqual(again[0], 401, again)
        reused = self.wait_for(lambda o: o["msg"] == "refresh_token_reused" and o.get("user") == victim.id,
                               "refresh_token_reused")
        self.assertEqual(reused[0]["level"], "warning")

    async def test_metrics_have_labels_process_series_and_build_info(self):
        alice = self.server.new_user("mt")
        bob = self.server.new_user("mt")
        self.server.login(alice.handle, "wrong-password-456")
        a = await self.ws(alice)
        cid = (await a.call("conversations.create", kind="direct", peer_id=bob.id))["id"]
        for i in range(3):
            await a.call("messages.send", conversation_id=cid, client_msg_id=f"m{i}", text="hi")
        await a.call("sync")
        m = self.server.metrics()
        self.assertGreaterEqual(m['natter_requests_total{method="messages.send",code="ok"}'], 3)
        self.assertGreaterEqual(m['natter_requests_total{method="auth.login",code="unauthorized"}'], 1)
        self.assertGreaterEqual(m['natter_requests_total{method="sync",code="ok"}'], 1)  # over the WebSocket
        self.assertGreaterEqual(m['natter_request_duration_seconds_count{method="messages.send"}'], 3)
        self.assertGreaterEqual(m['natter_request_duration_seconds_bucket{method="messages.send",le="+Inf"}'], 3)
        self.assertGreaterEqual(m['natter_websocket_connections{state="authenticated"}'], 1)
        self.assertIn('natter_websocket_connections{state="authenticating"}', m)
        self.assertGreaterEqual(m["natter_store_commit_duration_seconds_count"], 3)
        self.assertGreaterEqual(m["natter_store_commit_batch_size_count"], 3)
        self.assertGreaterEqual(m["natter_store_sync_duration_seconds_count"], 1)
        self.assertGreaterEqual(m["natter_catchup_conversations_count"], 1)
        self.assertIn('natter_queue_depth{queue="store"}', m)
        self.assertIn('natter_queue_depth{queue="hash"}', m)
        self.assertIn('natter_rate_limited_total{limit="connection"}', m)
        self.assertIn('natter_slow_consumers_total{action="closed"}', m)
        self.assertGreater(m["process_resident_memory_bytes"], 1e6)
        self.assertGreater(m["process_open_fds"], 3)
        self.assertGreater(m["process_max_fds"], 100)
        self.assertGreaterEqual(m["process_threads"], 2)
        self.assertGreater(m["process_cpu_seconds_total"], 0)
        self.assertGreater(m["process_start_time_seconds"], time.time() - 3600)
        build = [k for k in m if k.startswith("natter_build_info{")]
        self.assertEqual(len(build), 1, build)
        self.assertRegex(build[0], r'version="\d+\.\d+\.\d+"')
        # Every counter family's name ends in _total; every series has HELP and TYPE.
        status, text = self.server.text("/metrics")
        types = {}
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split(" ")
                types[name] = kind
        for name, kind in types.items():
            if kind == "counter":
                self.assertTrue(name.endswith("_total"), name)
        for line in text.splitlines():
            if line and not line.startswith("#"):
                family = line.split("{")[0].split(" ")[0]
                base = family
                for suffix in ("_bucket", "_sum", "_count"):
                    if family.endswith(suffix) and family[: -len(suffix)] in types:
                        base = family[: -len(suffix)]
                self.assertIn(base, types, line)


class UnreadStdoutTest(h.AsyncTestCase):
    """A log reader that stops reading (a stalled collector) must hold up no
    request: lines past what natterd queues are dropped and counted."""
    timeout = 120

    async def test_a_stdout_nobody_reads_holds_up_no_request(self):
        server = h.Natterd("--log-level", "debug", "--requests-per-second", "1000000", "--request-burst", "1000000",
                           name="unread")
        try:
            server.start()
            alice = server.new_user("quiet")
            c = await h.WsClient.connect(server, token=alice.token)
            server.hold_stdout()
            # Each ping logs a debug `request` line of about 200 bytes: 15,000
            # are more than the pipe and natterd's queue (1 MiB) hold together.
            for _ in range(150):
                answers = await asyncio.gather(*(c.request("ping", timeout=10) for _ in range(100)))
                self.assertTrue(all(a["type"] == "result" for a in answers), answers[:3])
            dropped = server.metrics().get("natter_log_lines_dropped_total", 0)
            self.assertGreater(dropped, 0)
            server.release_stdout()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and "stdout was not read fast enough" not in server.log_text():
                await asyncio.sleep(0.1)
            self.assertIn("stdout was not read fast enough", server.log_text())
            # Whole lines only: what was written is valid JSON, line by line.
            with server._log_lock:
                lines = list(server.log)
            for line in lines:
                if line.startswith("{"):
                    json.loads(line)
            await c.close()
        finally:
            server.close()


if __name__ == "__main__":
    h.main()
