"""Stopping and reloading a running natterd: SIGTERM drains (no new
connections, /readyz down, WebSocket clients told 1012 "service restart" a
share at a time over --drain-ms while the rest keep working; a second signal
cuts it short); SIGHUP applies a new log level, a renewed TLS certificate and
new limits without dropping anyone (and names the settings only a restart
applies), and a configuration that no longer loads changes
nothing."""

import asyncio
import os
import shutil
import signal
import socket
import ssl
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import natter_harness as h  # noqa: E402
from client_harness import TestCA  # noqa: E402
from natter_harness import WsClient  # noqa: E402

SANITIZED = bool(os.environ.get("NATTER_SANITIZER"))


async def closed_at(client, timeout):
    code, reason = await client.wait_closed(timeout=timeout)
    return time.monotonic(), code, reason


class DrainTest(h.AsyncTestCase):
    timeout = 90

    async def test_sigterm_spreads_1012_over_the_window_and_serves_meanwhile(self):
        server = h.Natterd("--drain-ms", "3000")
        try:
            server.start()
            users = [server.new_user("dr") for _ in range(12)]
            clients = [await WsClient.connect(server, token=u.token) for u in users]
            cid = (await clients[0].call("conversations.create", kind="group", title="drain",
                                         members=[u.id for u in users[1:]]))["id"]
            started = time.monotonic()
            server.proc.send_signal(signal.SIGTERM)
            waits = [asyncio.ensure_future(closed_at(c, 15)) for c in clients]
            # Nothing new is taken: the listener is closed (or /readyz says no).
            await asyncio.sleep(0.3)
            try:
                status, _ = h.http_request(server.port, "GET", "/readyz", timeout=2)
                self.assertEqual(status, 503)
            except OSError:
                pass  # refused: the listener is gone
            # Who is still connected keeps working until told to go.
            sent = None
            for c in clients:
                if not c.closed.is_set():
                    sent = await c.call("messages.send", conversation_id=cid, client_msg_id="during", text="mid-drain")
                    break
            self.assertIsNotNone(sent, "every client was closed at once")
            results = await asyncio.gather(*waits)
            for _, code, reason in results:
                self.assertEqual(code, 1012, reason)
            times = sorted(t - started for t, _, _ in results)
            # Spread over the window, not all at once, and all within it (plus slack).
            self.assertGreater(times[-1] - times[0], 1.5, times)
            self.assertLess(times[-1], 3.0 + (4 if SANITIZED else 2), times)
            rc = await asyncio.get_running_loop().run_in_executor(None, server.proc.wait, 15)
            self.assertEqual(rc, 0, server.log_text())
            for c in clients:
                await c.close()
            # What was acknowledged during the drain is kept.
            server.start()
            status, page = server.http("GET", f"/v1/conversations/{cid}/messages", token=server.relogin(users[1]).token)
            self.assertEqual(status, 200, page)
            self.assertIn("mid-drain", [m.get("text") for m in page["messages"]])
        finally:
            server.close()

    async def test_a_second_signal_cuts_the_drain_short(self):
        server = h.Natterd("--drain-ms", "60000")
        try:
            server.start()
            clients = [await WsClient.connect(server, token=server.new_user("dc").token) for _ in range(6)]
            started = time.monotonic()
            server.proc.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.5)
            server.proc.send_signal(signal.SIGTERM)
            for c in clients:
                code, reason = await c.wait_closed(timeout=10)
                self.assertEqual(code, 1012, reason)
            rc = await asyncio.get_running_loop().run_in_executor(None, server.proc.wait, 15)
            self.assertEqual(rc, 0, server.log_text())
            self.assertLess(time.monotonic() - started, 8)
            self.assertIn("drain: cut short", server.log_text())
            for c in clients:
                await c.close()
        finally:
            server.close()


def peer_serial(port):
    """The serial number of the certificate natterd presents now."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((h.HOST, port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            der = tls.getpeercert(binary_form=True)
    return der


class ReloadTest(h.AsyncTestCase):
    timeout = 90

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="natter-reload-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write_config(self, text):
        path = os.path.join(self.dir, "natter.toml")
        with open(path + ".new", "w") as f:
            f.write(text)
        os.replace(path + ".new", path)
        return path

    def wait_log(self, server, needle, timeout=5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in "\n".join(server.log):
                return
            time.sleep(0.05)
        self.fail(f"{needle!r} not logged:\n" + server.log_text())

    def wait_for_count(self, server, needle, count, timeout=5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "\n".join(server.log).count(needle) >= count:
                return
            time.sleep(0.05)
        self.fail(f"{needle!r} not logged {count} times:\n" + server.log_text())

    async def test_sighup_changes_the_log_level_and_keeps_connections(self):
        config = self.write_config('log-level = "info"\n')
        server = h.Natterd("--config", config)
        try:
            server.start()
            alice = server.new_user("hup")
            a = await WsClient.connect(server, token=alice.token)
            await a.call("ping")
            self.assertNotIn('"msg":"request"', "\n".join(server.log))  # debug lines are off
            self.write_config('log-level = "debug"\n')
            server.proc.send_signal(signal.SIGHUP)
            self.wait_log(server, "reload: log level debug")
            await a.call("ping")  # the same connection, still served
            self.wait_log(server, '"method":"ping"')
            # A configuration that does not load changes nothing and stops nothing.
            self.write_config('log-level = "debug"\nprot = 1\n')
            server.proc.send_signal(signal.SIGHUP)
            self.wait_log(server, "reload: the configuration did not load")
            self.assertIn("did you mean 'port'", "\n".join(server.log))
            # Still at debug: the ping after the refused reload is logged too.
            debug_lines = "\n".join(server.log).count('"method":"ping"')
            await a.call("ping")
            self.wait_for_count(server, '"method":"ping"', debug_lines + 1)
            self.assertIsNone(server.proc.poll())
            await a.close()
        finally:
            server.close()

    async def test_sighup_applies_new_limits_to_open_connections(self):
        config = self.write_config("max-text-bytes = 1000\nmax-login-failures = 10\n")
        server = h.Natterd("--config", config)
        try:
            server.start()
            alice = server.new_user("lim")
            bob_pw = "bob-right-password"
            self.assertEqual(server.register("limbob", bob_pw)[0], 200)
            a = await WsClient.connect(server, token=alice.token)
            conv = await a.call("conversations.create", kind="group", title="limits", members=[])
            await a.call("messages.send", conversation_id=conv["id"], client_msg_id="long-1", text="x" * 500)
            for i in range(3):
                self.assertEqual(server.login("limbob", f"wrong-{i}-password")[0], 401)

            self.write_config("max-text-bytes = 200\nmax-login-failures = 3\nrequests-per-second = 1\n"
                              "request-burst = 3\nidle-timeout-ms = 99000\n")
            server.proc.send_signal(signal.SIGHUP)
            self.wait_log(server, "reload: log level")
            # A setting only a restart applies is named, not silently ignored.
            self.wait_log(server, "reload: idle-timeout-ms changed; a restart applies it")
            self.assertNotIn("max-text-bytes changed", "\n".join(server.log))

            # The connection opened before the reload is held to the new numbers.
            refused = await a.error("messages.send", conversation_id=conv["id"], client_msg_id="long-2",
                                    text="x" * 500)
            self.assertEqual(refused["code"], "too_large", refused)
            self.assertIn("200 bytes", refused["message"])
            await asyncio.sleep(1.1)
            await a.call("messages.send", conversation_id=conv["id"], client_msg_id="short", text="x" * 150)
            answers = [await a.request("ping") for _ in range(6)]
            self.assertIn("rate_limited", [f.get("code") for f in answers], answers)
            # Three failures were counted before; three is now the limit.
            status, body = server.login("limbob", bob_pw)
            self.assertEqual((status, h.error_of(body)[0]), (429, "rate_limited"), body)
            self.assertIsNone(server.proc.poll())
            await a.close()
        finally:
            server.close()

    async def test_sighup_presents_a_renewed_certificate_to_new_connections(self):
        ca = TestCA(self.dir, "reload-ca")
        cert, key = ca.issue("first", ["localhost"])
        live_cert, live_key = os.path.join(self.dir, "live.pem"), os.path.join(self.dir, "live.key")
        shutil.copy(cert, live_cert)
        shutil.copy(key, live_key)
        server = h.Natterd("--tls-cert", live_cert, "--tls-key", live_key)
        try:
            server.start()
            before = await asyncio.get_running_loop().run_in_executor(None, peer_serial, server.port)
            # An open TLS connection that must survive the reload.
            ctx = ssl.create_default_context(cafile=ca.cert)
            ctx.check_hostname = False
            reader, writer = await asyncio.open_connection(h.HOST, server.port, ssl=ctx, server_hostname="localhost")
            renewed, renewed_key = ca.issue("second", ["localhost"])
            shutil.copy(renewed, live_cert)
            shutil.copy(renewed_key, live_key)
            server.proc.send_signal(signal.SIGHUP)
            self.wait_log(server, "TLS certificate reloaded")
            after = await asyncio.get_running_loop().run_in_executor(None, peer_serial, server.port)
            self.assertNotEqual(before, after)
            with open(renewed, "rb") as f:
                self.assertEqual(ssl.DER_cert_to_PEM_cert(after).strip(), f.read().decode().strip())
            # The connection made before still works.
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            await writer.drain()
            head = await asyncio.wait_for(reader.readline(), 5)
            self.assertIn(b"200", head)
            writer.close()
            # A broken pair is refused and the certificate in use stays.
            with open(live_key, "w") as f:
                f.write("not a key\n")
            server.proc.send_signal(signal.SIGHUP)
            self.wait_log(server, "the TLS certificate was not reloaded")
            self.assertEqual(await asyncio.get_running_loop().run_in_executor(None, peer_serial, server.port), after)
        finally:
            server.close()


if __name__ == "__main__":
    h.main()
