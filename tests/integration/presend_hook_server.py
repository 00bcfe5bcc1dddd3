"""A local pre-send hook that answers the way docs/webhooks.md tells an
operator's hook to, checking each call's signature first. What it answers
depends on a marker in the text, so tests need no shared state:

  [reject]   {"action": "reject", "reason": "no spam here"}
  [rewrite]  {"action": "accept", "text": <the text with "darn" made "d**n">}
  [slow]     answers after 3 s (past natterd's timeout)
  [500]      HTTP 500
  [garbage]  200 with a body that is not JSON
  [huge]     accepts with a text longer than any message may be
  otherwise  204 (accept as sent)

`calls` records every call whose signature verified; `forged` the rest."""

import http.server
import json
import threading
import time

from webhook_receiver import free_port, serve, verify


class PresendHookServer:
    def __init__(self, secret):
        self.secret = secret
        self.port = free_port()
        self.calls = []
        self.forged = []
        self._lock = threading.Lock()
        self._server = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/presend"

    def start(self):
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if not verify(hook.secret, self.headers.get("Natter-Signature", ""), body):
                    with hook._lock:
                        hook.forged.append(body)
                    return self.answer(401, b"")
                call = json.loads(body)
                with hook._lock:
                    hook.calls.append(call)
                text = call["data"]["text"]
                if "[slow]" in text:
                    time.sleep(3)
                    return self.answer(204, b"")
                if "[500]" in text:
                    return self.answer(500, b"")
                if "[garbage]" in text:
                    return self.answer(200, b"<html>not json</html>")
                if "[reject]" in text:
                    return self.json({"action": "reject", "reason": "no spam here"})
                if "[rewrite]" in text:
                    return self.json({"action": "accept", "text": text.replace("darn", "d**n")})
                if "[huge]" in text:
                    return self.json({"action": "accept", "text": "x" * 20000})
                self.answer(204, b"")

            def json(self, obj):
                self.answer(200, json.dumps(obj).encode(), "application/json")

            def answer(self, status, body, content_type=None):
                try:
                    self.send_response(status)
                    if content_type:
                        self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # natterd gave up waiting (the [slow] case)

        self._server = serve(self.port, Handler)
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def calls_with(self, marker):
        with self._lock:
            return [c for c in self.calls if marker in c["data"]["text"]]
