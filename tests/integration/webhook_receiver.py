"""A local webhook receiver that checks deliveries the way docs/webhooks.md
tells an operator's backend to: POST, JSON, a Natter-Signature whose HMAC
verifies under the shared secret over "<t>.<body>" and whose t is within five
minutes, an event id that matches the body's. It records the events that
verify (and, apart, any that do not) and can be down (not listening),
failing (answers 500) or hung (reads the request, never answers)."""

import hashlib
import hmac
import http.server
import json
import socket
import threading
import time

TOLERANCE_S = 300


def verify(secret, header, body, now=None):
    """Whether `header` signs `body` under `secret` within the tolerance."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    if "t" not in fields or "v1" not in fields:
        return False
    try:
        t = int(fields["t"])
    except ValueError:
        return False
    if abs((now or time.time()) - t) > TOLERANCE_S:
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(port, handler):
    """A threaded HTTP server for `handler` on 127.0.0.1:port, running in the background."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class WebhookReceiver:
    def __init__(self, secret):
        self.secret = secret
        self.port = free_port()
        self.mode = "ok"  # ok, fail, hang
        self.events = []  # verified bodies, in arrival order
        self.forged = []  # deliveries whose signature did not verify
        self.attempts = 0
        self.hung = 0     # requests held without an answer
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._server = None
        self._connections = set()  # open (kept-alive) connections: stop() ends them too

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/hooks/natter"

    def start(self):
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def setup(self):
                super().setup()
                with receiver._lock:
                    receiver._connections.add(self.connection)

            def finish(self):
                with receiver._lock:
                    receiver._connections.discard(self.connection)
                super().finish()

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._lock:
                    receiver.attempts += 1
                    mode = receiver.mode
                if mode == "hang":
                    with receiver._lock:
                        receiver.hung += 1
                    receiver._release.wait(60)
                    self.close_connection = True
                    return
                if mode == "fail":
                    return self.answer(500)
                ok = (self.path == "/hooks/natter"
                      and self.headers.get("Content-Type") == "application/json"
                      and verify(receiver.secret, self.headers.get("Natter-Signature", ""), body))
                event = json.loads(body) if ok else None
                if ok and event.get("id") != self.headers.get("Natter-Event-Id"):
                    ok = False
                with receiver._lock:
                    if ok:
                        receiver.events.append(event)
                    else:
                        receiver.forged.append((dict(self.headers), body))
                self.answer(204 if ok else 401)

            def answer(self, status):
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._release.clear()
        self._server = serve(self.port, Handler)
        return self

    def stop(self):
        """Stops listening and ends the open connections: deliveries are refused."""
        if self._server:
            self._release.set()
            self._server.shutdown()
            self._server.server_close()
            self._server = None
            with self._lock:
                connections, self._connections = self._connections, set()
            for connection in connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def hold(self):
        """Requests from now on are read and held without an answer until release()."""
        with self._lock:
            self.mode = "hang"
            self._release.clear()

    def release(self):
        """Hung requests end (without an answer) and later ones are answered."""
        with self._lock:
            self.mode = "ok"
        self._release.set()

    def snapshot(self):
        with self._lock:
            return list(self.events)

    def of_type(self, kind):
        return [e for e in self.snapshot() if e["type"] == kind]

    def wait_for(self, predicate, timeout=30.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = predicate(self.snapshot())
            if found:
                return found
            time.sleep(0.05)
        raise AssertionError(f"webhook receiver: not seen in {timeout}s; got {self.snapshot()}")
