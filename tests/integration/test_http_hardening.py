"""HTTP as a hostile client speaks it: bytes sent before authentication are
bounded (a chunk header with an endless extension cannot make natterd hold
them), and a request whose Transfer-Encoding natterd cannot frame is refused
with 400 and the connection closed, so what follows is never read as a
request of its own (RFC 9112 section 6.1)."""

import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import natter_harness as h  # noqa: E402

SANITIZER = os.environ.get("NATTER_SANITIZER", "")


def status_of(response):
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/1.1 ") else None


class HttpHardeningTest(h.ServerTestCase):
    timeout = 90

    def test_endless_chunk_extension_is_refused_without_holding_it(self):
        # Three clients each start a chunked login body whose first chunk
        # header never ends: `2;` then extension bytes, 48 MiB each. The
        # server must answer 413 and close, holding only a small bound.
        per_connection = 48 << 20
        before = h.rss_mb(self.server.proc.pid)
        results = []

        def attack():
            s = socket.create_connection((h.HOST, self.server.port), timeout=10)
            sent = 0
            try:
                s.sendall(b"POST /v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2;")
                block = b"x" * (1 << 20)
                deadline = time.monotonic() + 30
                while sent < per_connection and time.monotonic() < deadline:
                    try:
                        s.sendall(block)
                    except OSError:
                        break  # refused and closed: what this test wants
                    sent += len(block)
                results.append((sent, h.read_until_closed(s)))
            finally:
                s.close()

        threads = [threading.Thread(target=attack) for _ in range(3)]
        peak = before
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            peak = max(peak, h.rss_mb(self.server.proc.pid))
            time.sleep(0.05)
        for t in threads:
            t.join()
        self.assertEqual(len(results), 3)
        for sent, response in results:
            if response:  # an answer that beat the reset must be the refusal
                self.assertEqual(status_of(response), 413, response[:200])
            self.assertLess(sent, per_connection, "the server read 48 MiB of one chunk header")
        allowance = 60 if SANITIZER else 20
        self.assertLess(peak - before, allowance, f"RSS grew from {before:.0f} to {peak:.0f} MB")
        status, _ = self.server.http("GET", "/healthz")
        self.assertEqual(status, 200)

    def post_body(self, request_line, extra_headers, size):
        """Sends a request with a `size`-byte body; returns what came back."""
        s = socket.create_connection((h.HOST, self.server.port), timeout=10)
        try:
            s.sendall(request_line + b"\r\nHost: 127.0.0.1\r\n" + extra_headers +
                      b"Content-Type: application/json\r\nContent-Length: " + str(size).encode() + b"\r\n\r\n")
            try:
                s.sendall(b" " * size)
            except OSError:
                pass  # refused and closed before the body was all sent
            return h.read_until_closed(s)
        finally:
            s.close()

    def test_public_requests_get_a_small_body_budget(self):
        # Before authentication a body is a login or a registration: a few
        # hundred bytes. A large one is refused before it is read.
        body_size = 32 * 1024  # under the general 64 KiB limit, over the public one
        response = self.post_body(b"POST /v1/auth/login HTTP/1.1", b"", body_size)
        self.assertEqual(status_of(response), 413, response[:200])
        self.assertIn(b"too_large", response)
        # Naming any bearer token does not buy the larger budget: only one
        # that verifies does.
        response = self.post_body(b"POST /v1/conversations HTTP/1.1", b"Authorization: Bearer x\r\n", body_size)
        self.assertEqual(status_of(response), 413, response[:200])

    def test_transfer_encoding_it_cannot_frame_is_refused_and_closed(self):
        # Each request carries a second, smuggled request after it. natterd
        # must answer the first 400 and close, never answering the second.
        smuggled = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        for encoding in (b"xchunked", b"chunked, identity", b"gzip", b"gzip, chunked", b"identity"):
            s = socket.create_connection((h.HOST, self.server.port), timeout=10)
            try:
                body = b"0\r\n\r\n" if encoding.endswith(b"chunked") else b""
                s.sendall(b"POST /v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: " + encoding +
                          b"\r\nContent-Type: application/json\r\n\r\n" + body + smuggled)
                response = h.read_until_closed(s)
            finally:
                s.close()
            self.assertEqual(status_of(response), 400, (encoding, response[:300]))
            self.assertEqual(response.count(b"HTTP/1.1 "), 1, (encoding, response[:600]))
            self.assertIn(b"bad_request", response)
        # Plain chunked still works.
        s = socket.create_connection((h.HOST, self.server.port), timeout=10)
        try:
            s.sendall(b"POST /v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
                      b"Connection: close\r\nContent-Type: application/json\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
            response = h.read_until_closed(s)
        finally:
            s.close()
        self.assertEqual(status_of(response), 400, response[:300])  # the body is read: fields are missing
        self.assertIn(b"handle", response)


if __name__ == "__main__":
    h.main()
