"""Shared helpers for natter's integration tests.

Each test file is run as
    /usr/bin/python3 tests/integration/test_x.py --natterd /path/to/natterd [unittest args]

What is here:
  * Natterd: starts a real natterd on 127.0.0.1, port 0, with a temporary data
    directory (deleted at the end); stop (SIGTERM), kill (SIGKILL), restart.
  * http_request / Natterd.http: tiny HTTP client returning (status, json).
  * register / login helpers (Natterd.new_user).
  * WsClient: asyncio WebSocket client (python3-websockets) that sends requests
    and waits for the answer with the same id while collecting events.
  * RawWebSocket: a blocking WebSocket client over a plain socket, for frames a
    well-behaved library refuses to send (invalid UTF-8, oversized, deflated...).
  * Token forging helpers (for expired / alg:none / foreign-key tokens).
  * AsyncTestCase: IsolatedAsyncioTestCase whose every test has a hard timeout.
  * main(): parses --natterd, runs unittest, exits non-zero on failure or skip.

Standard library plus websockets only. Everything talks to 127.0.0.1 and every
wait is bounded.
"""

import argparse
import asyncio
import atexit
import base64
import functools
import hashlib
import hmac
import http.client
import itertools
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import zlib

import websockets
import websockets.exceptions

HOST = "127.0.0.1"
NATTERD = os.environ.get("NATTERD_BIN", "")
DEFAULT_TIMEOUT = 10.0
LISTEN_RE = re.compile(r"natterd listening on https?://[0-9.]+:(\d+)")

_live_servers = []


def _cleanup_all():
    for server in list(_live_servers):
        try:
            server.close()
        except Exception:  # pragma: no cover - best effort at exit
            pass


atexit.register(_cleanup_all)


# ---------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------


def is_chat_message(frame):
    """A {"type":"message"} frame that carries a chat message, not a system event."""
    return frame.get("message", {}).get("kind", "message") == "message"


def http_request(port, method, path, body=None, token=None, headers=None, raw=None,
                 timeout=DEFAULT_TIMEOUT, source=None):
    """One HTTP request to 127.0.0.1:port. Returns (status, parsed JSON or text).

    body: a JSON-able value sent as the request body; raw: bytes sent as is.
    source: a local address to bind (e.g. "127.0.0.2") to look like another client.
    """
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    try:
        hdrs = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        elif raw is not None:
            data = raw
        if token is not None:
            hdrs["Authorization"] = "Bearer " + token
        if headers:
            hdrs.update(headers)
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        payload = resp.read()
        status = resp.status
    finally:
        conn.close()
    text = payload.decode("utf-8", "replace")
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def error_of(body):
    """(code, message) of an HTTP error body, or (None, None)."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return body["error"].get("code"), body["error"].get("message")
    return None, None


class User:
    def __init__(self, handle, password, user_id, login):
        self.handle = handle
        self.password = password
        self.id = user_id
        self.token = login["access_token"]
        self.refresh = login["refresh_token"]
        self.session = login["session_id"]
        self.login = login

    def __repr__(self):
        return f"User({self.handle}, {self.id})"


# ---------------------------------------------------------------------------
# The server process
# ---------------------------------------------------------------------------


def group_adds_args(args):
    """Suites put users who never met into groups all the time; consent is what
    test_invitations tests, with the server's own default. The others let
    anyone add anyone unless they say otherwise."""
    return [] if "--group-adds" in " ".join(args) else ["--group-adds", "everyone"]


def _binary():
    if not NATTERD:
        raise RuntimeError("no natterd binary: pass --natterd PATH")
    return NATTERD


class Natterd:
    """A natterd process on 127.0.0.1 with its own temporary data directory."""

    _handle_counter = itertools.count(1)

    def __init__(self, *args, data_dir=None, name="natterd"):
        self.args = list(args)
        self.name = name
        self._own_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="natter-it-")
        self.proc = None
        self.port = None
        self.log = []
        self._log_lock = threading.Lock()
        self._reading = threading.Event()  # cleared: stdout is left unread
        self._reading.set()
        _live_servers.append(self)

    # -- lifecycle ----------------------------------------------------------

    def start(self, timeout=20.0):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()
        deadline = time.monotonic() + timeout
        binary = _binary()
        # Cheap password hashing unless the suite asks for the real cost.
        profile = [] if "--password-profile" in self.args else ["--password-profile", "minimal"]
        profile += group_adds_args(self.args)
        # A stop closes every socket at once unless the suite tests the drain.
        if "--drain-ms" not in self.args:
            profile += ["--drain-ms", "0"]
        cmd = [binary, "--data-dir", os.path.join(self.data_dir, "data"), "--port", "0", *profile, *self.args]
        attempt = 0
        while True:
            attempt += 1
            # The binary may be rebuilt under us: wait for it to exist again.
            while not os.path.exists(binary):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{binary} does not exist")
                time.sleep(0.2)
            try:
                self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL)
            except OSError:  # ETXTBSY / ENOEXEC while being rewritten
                if time.monotonic() > deadline or attempt > 20:
                    raise
                time.sleep(0.3)
                continue
            port_holder = {}
            ready = threading.Event()
            threading.Thread(target=self._pump, args=(self.proc, port_holder, ready),
                             daemon=True).start()
            while not ready.wait(0.05):
                if self.proc.poll() is not None:
                    ready.wait(0.5)  # let the pump drain the last lines
                    break
                if time.monotonic() > deadline:
                    self.proc.kill()
                    self.proc.wait(5)
                    raise RuntimeError("natterd did not start in time:\n" + self.log_text())
            if "port" in port_holder:
                self.port = port_holder["port"]
                return self
            # Exited before listening: retry only when it died abnormally
            # (a half-written binary being replaced), otherwise report.
            rc = self.proc.wait(5)
            if rc >= 0 or attempt >= 3 or time.monotonic() > deadline:
                raise RuntimeError(f"natterd exited with {rc} before listening:\n" + self.log_text())
            time.sleep(1.0)

    def hold_stdout(self):
        """Stops reading natterd's stdout (the pipe fills) until release_stdout()."""
        self._reading.clear()

    def release_stdout(self):
        self._reading.set()

    def _pump(self, proc, port_holder, ready):
        for raw in proc.stdout:
            self._reading.wait()
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._log_lock:
                self.log.append(line)
            m = LISTEN_RE.search(line)
            if m and "port" not in port_holder:
                port_holder["port"] = int(m.group(1))
                ready.set()
        ready.set()

    def log_text(self):
        with self._log_lock:
            return "\n".join(self.log[-1000:])

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=15.0):
        """SIGTERM and wait; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                raise AssertionError("natterd did not stop within %.0fs of SIGTERM" % timeout)
        return self.proc.returncode

    def kill(self):
        """SIGKILL and wait."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        return self.proc.returncode if self.proc else None

    def restart(self, timeout=20.0):
        """Starts again on the same data directory (a new port)."""
        if self.running():
            self.stop()
        self.port = None
        return self.start(timeout)

    def close(self):
        """Stops the process (SIGKILL if needed) and removes the data dir."""
        try:
            if self.running():
                try:
                    self.stop(timeout=10)
                except AssertionError:
                    pass
            self.kill()
        finally:
            if self.proc is not None and self.proc.stdout:
                try:
                    self.proc.stdout.close()
                except Exception:
                    pass
            if self._own_dir:
                shutil.rmtree(self.data_dir, ignore_errors=True)
            if self in _live_servers:
                _live_servers.remove(self)

    # -- addresses ----------------------------------------------------------

    @property
    def ws_url(self):
        return f"ws://{HOST}:{self.port}/v1/ws"

    @property
    def key_file(self):
        return os.path.join(self.data_dir, "data", "jwt-keys.json")

    # -- HTTP helpers -------------------------------------------------------

    def http(self, method, path, body=None, token=None, **kw):
        return http_request(self.port, method, path, body=body, token=token, **kw)

    def text(self, path, timeout=DEFAULT_TIMEOUT):
        conn = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read().decode("utf-8", "replace")
        finally:
            conn.close()

    def metrics(self):
        status, text = self.text("/metrics")
        assert status == 200, (status, text)
        values = {}
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            name, _, value = line.rpartition(" ")
            try:
                values[name] = float(value)
            except ValueError:
                pass
        return values

    def register(self, handle, password, **kw):
        return self.http("POST", "/v1/auth/register", {"handle": handle, "password": password}, **kw)

    def login(self, handle, password, device="test", **kw):
        return self.http("POST", "/v1/auth/login",
                         {"handle": handle, "password": password, "device": device}, **kw)

    def new_user(self, prefix="u", password=None, device="test"):
        """Registers a fresh user and logs in; returns a User."""
        handle = f"{prefix}{next(self._handle_counter):03d}"[-32:]
        password = password or f"pw-{handle}-secret"
        status, body = self.register(handle, password)
        assert status == 200, (status, body)
        assert body["handle"] == handle, body
        user_id = body["user_id"]
        status, login = self.login(handle, password, device)
        assert status == 200, (status, login)
        assert login["user_id"] == user_id, login
        return User(handle, password, user_id, login)

    def named_user(self, handle, device="test"):
        """Registers `handle` itself (a handle the server's flags name, such as
        --admins) and logs in; returns a User."""
        password = f"pw-{handle}-secret"
        status, body = self.register(handle, password)
        assert status == 200, (status, body)
        status, login = self.login(handle, password, device)
        assert status == 200, (status, login)
        return User(handle, password, body["user_id"], login)

    def relogin(self, user, device="second"):
        status, login = self.login(user.handle, user.password, device)
        assert status == 200, (status, login)
        return User(user.handle, user.password, user.id, login)


# ---------------------------------------------------------------------------
# Async WebSocket client
# ---------------------------------------------------------------------------


class WsError(AssertionError):
    """A request answered with {"type":"error"}."""

    def __init__(self, frame):
        super().__init__(f"{frame.get('code')}: {frame.get('message')}")
        self.frame = frame
        self.code = frame.get("code")
        self.message = frame.get("message")


def close_code_of(exc):
    rcvd = getattr(exc, "rcvd", None)
    return (rcvd.code, rcvd.reason) if rcvd is not None else (None, None)


def _id_key(rid):
    return json.dumps(rid, sort_keys=True)


class WsClient:
    """A WebSocket connection that matches answers to requests by id and keeps
    every other frame (events) in order."""

    def __init__(self, ws, keep_events=True):
        self.ws = ws
        self.keep_events = keep_events
        self.frames = []           # unconsumed frames other than answers, in arrival order
        self.answers = {}          # answers (result/error with an id) not yet claimed, by id
        self.all_frames = []       # everything ever received (when keep_events)
        self.events_seen = 0
        self._changed = asyncio.Event()
        self._ids = itertools.count(1)
        self.closed = asyncio.Event()
        self.close_code = None
        self.close_reason = None
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def connect(cls, server_or_url, token=None, origin=None, compression=None,
                      extra_headers=None, timeout=DEFAULT_TIMEOUT, keep_events=True, **kw):
        """Opens a connection; with token, authenticates with the upgrade's
        Authorization header. Raises websockets.exceptions.InvalidStatusCode if refused."""
        url = server_or_url if isinstance(server_or_url, str) else server_or_url.ws_url
        headers = dict(extra_headers or {})
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        ws = await asyncio.wait_for(
            websockets.connect(url, extra_headers=headers, origin=origin, compression=compression,
                               ping_interval=None, close_timeout=3, max_size=2 ** 24,
                               open_timeout=timeout, **kw),
            timeout + 1)
        return cls(ws, keep_events=keep_events)

    @classmethod
    async def connect_auth_frame(cls, server, token, timeout=DEFAULT_TIMEOUT):
        """Connects without a header and authenticates with the first frame."""
        client = await cls.connect(server, timeout=timeout)
        await client.call("auth", token=token)
        return client

    async def _read(self):
        try:
            async for raw in self.ws:
                try:
                    frame = json.loads(raw) if isinstance(raw, str) else {"type": "_binary", "raw": raw}
                except ValueError:
                    frame = {"type": "_unparsable", "raw": raw}
                rid = frame.get("id")
                if frame.get("type") in ("result", "error") and rid is not None:
                    self.answers[_id_key(rid)] = frame
                elif self.keep_events:
                    self.frames.append(frame)
                else:
                    self.events_seen += 1
                if self.keep_events:
                    self.all_frames.append(frame)
                self._changed.set()
        except websockets.exceptions.ConnectionClosed as e:
            self.close_code, self.close_reason = close_code_of(e)
        except Exception as e:  # transport errors: treat as abnormal close
            self.close_code, self.close_reason = None, repr(e)
        finally:
            if self.close_code is None and self.ws.close_rcvd is not None:
                self.close_code = self.ws.close_rcvd.code
                self.close_reason = self.ws.close_rcvd.reason
            self.closed.set()
            self._changed.set()

    async def wait_for(self, predicate, timeout=DEFAULT_TIMEOUT, what="frame"):
        """Removes and returns the first frame matching predicate; waits up to timeout."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for i, frame in enumerate(self.frames):
                if predicate(frame):
                    del self.frames[i]
                    return frame
            if self.closed.is_set():
                raise AssertionError(f"connection closed ({self.close_code} {self.close_reason!r}) "
                                     f"while waiting for {what}; unconsumed: {self.frames[-5:]}")
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}; "
                                     f"unconsumed: {self.frames[-5:]}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    async def send_json(self, obj):
        await asyncio.wait_for(self.ws.send(json.dumps(obj)), DEFAULT_TIMEOUT)

    async def send_raw(self, data):
        await asyncio.wait_for(self.ws.send(data), DEFAULT_TIMEOUT)

    async def send_request(self, method, **params):
        """Sends a request without waiting; returns its id."""
        rid = params.pop("id", None)
        if rid is None:
            rid = next(self._ids)
        await self.send_json({"type": method, "id": rid, **params})
        return rid

    async def answer(self, rid, timeout=DEFAULT_TIMEOUT):
        """The answer (result or error) to request id rid; waits up to timeout."""
        key = _id_key(rid)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            if key in self.answers:
                return self.answers.pop(key)
            if self.closed.is_set():
                raise AssertionError(f"connection closed ({self.close_code} {self.close_reason!r}) "
                                     f"while waiting for the answer to id {rid!r}")
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"timed out after {timeout}s waiting for the answer to id {rid!r}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    async def request(self, method, timeout=DEFAULT_TIMEOUT, **params):
        """Sends a request and returns its answer frame (result or error)."""
        rid = await self.send_request(method, **params)
        return await self.answer(rid, timeout)

    async def call(self, method, timeout=DEFAULT_TIMEOUT, **params):
        """Sends a request and returns its data; raises WsError on an error answer."""
        frame = await self.request(method, timeout, **params)
        if frame["type"] == "error":
            raise WsError(frame)
        return frame["data"]

    async def error(self, method, timeout=DEFAULT_TIMEOUT, **params):
        """Sends a request that must fail; returns the error frame."""
        frame = await self.request(method, timeout, **params)
        if frame["type"] != "error":
            raise AssertionError(f"{method} {params} should have failed, got {frame}")
        return frame

    async def event(self, kind="message", timeout=DEFAULT_TIMEOUT, predicate=None):
        """The next event of `kind`. For "message", only chat messages count unless
        a predicate says otherwise: system events (joins, role changes, edits...)
        share the frame type and are left in the buffer."""
        if kind == "message" and predicate is None:
            predicate = is_chat_message
        return await self.wait_for(
            lambda f: f.get("type") == kind and (predicate is None or predicate(f)),
            timeout, what=f"{kind} event")

    async def expect_no_event(self, kind="message", within=0.5):
        await asyncio.sleep(within)
        stray = [f for f in self.frames if f.get("type") == kind and (kind != "message" or is_chat_message(f))]
        if stray:
            raise AssertionError(f"unexpected {kind} events: {stray}")

    def events(self, kind):
        return [f for f in self.frames if f.get("type") == kind]

    async def wait_closed(self, timeout=DEFAULT_TIMEOUT):
        """Waits for the server to close; returns (code, reason) of its close frame
        (code None if the connection ended without one)."""
        try:
            await asyncio.wait_for(self.closed.wait(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"connection still open after {timeout}s")
        return self.close_code, self.close_reason

    async def close(self):
        try:
            await asyncio.wait_for(self.ws.close(), 5)
        except Exception:
            pass
        self._reader.cancel()
        try:
            await asyncio.wait_for(self._reader, 2)
        except BaseException:
            pass


async def ws_refused_status(server, timeout=DEFAULT_TIMEOUT, **kw):
    """Tries to connect; returns the HTTP status of a refused upgrade (fails if accepted)."""
    try:
        client = await WsClient.connect(server, timeout=timeout, **kw)
    except websockets.exceptions.InvalidStatusCode as e:
        return e.status_code
    await client.close()
    raise AssertionError("the WebSocket upgrade was accepted")


# ---------------------------------------------------------------------------
# Raw WebSocket over a plain socket
# ---------------------------------------------------------------------------

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


class RawWebSocket:
    """Blocking WebSocket client that can send any frame, valid or not."""

    def __init__(self, port, token=None, headers=None, extensions=None, path="/v1/ws",
                 timeout=DEFAULT_TIMEOUT, source=None, rcvbuf=None):
        if rcvbuf is None:
            self.sock = socket.create_connection((HOST, port), timeout=timeout,
                                                 source_address=(source, 0) if source else None)
        else:
            # A small receive buffer must be set before connecting to bound the window.
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self.sock.settimeout(timeout)
            if source:
                self.sock.bind((source, 0))
            self.sock.connect((HOST, port))
        self.buf = b""
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", f"Host: {HOST}:{port}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        if token:
            lines.append(f"Authorization: Bearer {token}")
        if extensions:
            lines.append(f"Sec-WebSocket-Extensions: {extensions}")
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buf:
            chunk = self._recv_some(deadline)
            if not chunk:
                raise AssertionError(f"connection closed during the handshake: {self.buf!r}")
            if len(self.buf) > 65536:
                raise AssertionError("handshake response too long")
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        head_lines = head.decode("latin-1").split("\r\n")
        self.status = int(head_lines[0].split()[1])
        self.headers = {}
        for line in head_lines[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        if self.status == 101:
            expected = base64.b64encode(hashlib.sha1(
                (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
            assert self.headers.get("sec-websocket-accept") == expected, self.headers
        self.closed_with = None

    def _recv_some(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("deadline passed")
        self.sock.settimeout(remaining)
        chunk = self.sock.recv(65536)
        self.buf += chunk
        return chunk

    @staticmethod
    def encode_frame(opcode, payload, fin=True, rsv1=False, mask=True):
        b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
        n = len(payload)
        if n < 126:
            header = struct.pack("!BB", b0, (0x80 if mask else 0) | n)
        elif n <= 0xFFFF:
            header = struct.pack("!BBH", b0, (0x80 if mask else 0) | 126, n)
        else:
            header = struct.pack("!BBQ", b0, (0x80 if mask else 0) | 127, n)
        if not mask:
            return header + payload
        key = os.urandom(4)
        masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        return header + key + masked

    def send_frame(self, opcode, payload, **kw):
        self.sock.sendall(self.encode_frame(opcode, payload, **kw))

    def send_text(self, text):
        self.send_frame(OP_TEXT, text.encode() if isinstance(text, str) else text)

    def send_json(self, obj):
        self.send_text(json.dumps(obj))

    def send_deflated(self, data, opcode=OP_TEXT):
        """Sends one permessage-deflate compressed message."""
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        body = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
        assert body.endswith(b"\x00\x00\xff\xff")
        self.send_frame(opcode, body[:-4], rsv1=True)
        return len(body) - 4

    def recv_frame(self, timeout=DEFAULT_TIMEOUT):
        """(opcode, payload) of the next frame; None on EOF."""
        deadline = time.monotonic() + timeout
        while True:
            frame = self._parse()
            if frame is not None:
                return frame
            try:
                chunk = self._recv_some(deadline)
            except ConnectionResetError:
                return None
            if not chunk:
                return None

    def _parse(self):
        b = self.buf
        if len(b) < 2:
            return None
        b0, b1 = b[0], b[1]
        n = b1 & 0x7F
        pos = 2
        if n == 126:
            if len(b) < 4:
                return None
            n = struct.unpack("!H", b[2:4])[0]
            pos = 4
        elif n == 127:
            if len(b) < 10:
                return None
            n = struct.unpack("!Q", b[2:10])[0]
            pos = 10
        if b1 & 0x80:
            raise AssertionError("server frames must not be masked")
        if len(b) < pos + n:
            return None
        payload = b[pos:pos + n]
        self.buf = b[pos + n:]
        if b0 & 0x40:
            payload = zlib.decompress(payload + b"\x00\x00\xff\xff", -15)
        return b0 & 0x0F, payload

    def recv_json(self, timeout=DEFAULT_TIMEOUT):
        """Next text frame as JSON (skipping pings); None on close/EOF."""
        deadline = time.monotonic() + timeout
        while True:
            frame = self.recv_frame(max(0.01, deadline - time.monotonic()))
            if frame is None:
                return None
            op, payload = frame
            if op == OP_TEXT:
                return json.loads(payload)
            if op == OP_CLOSE:
                self.pending_close = payload
                return None

    def expect_close(self, timeout=DEFAULT_TIMEOUT):
        """Reads until the server's close frame; returns (code, reason).
        Fails if the connection ends without one."""
        deadline = time.monotonic() + timeout
        pending = getattr(self, "pending_close", None)
        while pending is None:
            frame = self.recv_frame(max(0.01, deadline - time.monotonic()))
            if frame is None:
                raise AssertionError("connection ended without a close frame")
            op, payload = frame
            if op == OP_CLOSE:
                pending = payload
        if len(pending) < 2:
            return None, ""
        return struct.unpack("!H", pending[:2])[0], pending[2:].decode("utf-8", "replace")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def rss_mb(pid):
    """The resident set of process `pid`, in MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def read_until_closed(sock, timeout=10.0):
    """Everything the server sends on `sock` until it closes or resets it
    (bounded by `timeout`; a server that neither answers nor closes fails)."""
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            break
        except socket.timeout:
            raise AssertionError("the server neither answered nor closed: " + repr(data[:200]))
        if not chunk:
            break
        data += chunk
    return data


def socket_closed_within(sock, timeout):
    """Reads (discarding) until the peer closes; returns seconds taken, or None if
    still open after timeout."""
    start = time.monotonic()
    deadline = start + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        sock.settimeout(remaining)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            return None
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - start
        if not data:
            return time.monotonic() - start


# ---------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------


def b64url(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def read_signing_key(server):
    """(kid, secret bytes) of the server's current signing key."""
    with open(server.key_file) as f:
        keys = json.load(f)["keys"]
    return keys[0]["kid"], b64url_decode(keys[0]["secret"])


def decode_token(token):
    header, payload, _ = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload))


def forge_token(header, payload, secret):
    """Compact JWS; secret None leaves the signature empty."""
    signing_input = b64url(json.dumps(header, separators=(",", ":"))) + "." + \
        b64url(json.dumps(payload, separators=(",", ":")))
    sig = "" if secret is None else b64url(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())
    return signing_input + "." + sig


# ---------------------------------------------------------------------------
# unittest glue
# ---------------------------------------------------------------------------

TEST_TIMEOUT = 60.0


def _with_timeout(fn, seconds):
    @functools.wraps(fn)
    async def wrapper(self, *a, **kw):
        # The harness makes short blocking calls (process start, HTTP); they are
        # not the slow callbacks asyncio's debug mode is meant to point out.
        asyncio.get_running_loop().slow_callback_duration = 30
        return await asyncio.wait_for(fn(self, *a, **kw), seconds)
    return wrapper


class AsyncTestCase(unittest.IsolatedAsyncioTestCase):
    """Every async test_* method gets a hard timeout (class attribute `timeout`)."""

    timeout = TEST_TIMEOUT

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        for name, value in list(vars(cls).items()):
            if name.startswith("test") and asyncio.iscoroutinefunction(value):
                setattr(cls, name, _with_timeout(value, cls.timeout))


class ServerTestCase(AsyncTestCase):
    """One natterd for the whole class, started with natterd_args() (by default
    the class's server_args). WebSocket clients opened with ws()/connect(), and
    anything put in self.devices (objects with a .client) or self.raws, are
    closed after each test."""

    server_args = ()
    timeout = 60

    @classmethod
    def natterd_args(cls):
        return tuple(cls.server_args)

    @classmethod
    def setUpClass(cls):
        cls.server = Natterd(*cls.natterd_args()).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    async def asyncSetUp(self):
        self.clients = []
        self.devices = []
        self.raws = []

    async def asyncTearDown(self):
        for d in self.devices:
            if d.client is not None:
                await d.client.close()
        for c in self.clients:
            await c.close()
        for r in self.raws:
            r.close()

    def call(self, method, path, user, body=None, expect=200):
        """An HTTP call as `user` (None: without a token) that must answer `expect`; its body."""
        status, answer = self.server.http(method, path, body, token=user.token if user else None)
        self.assertEqual(status, expect, answer)
        return answer

    async def ws(self, user, **kw):
        c = await WsClient.connect(self.server, token=user.token, **kw)
        self.clients.append(c)
        return c

    async def connect(self, user, first_frame=False):
        if first_frame:
            c = await WsClient.connect_auth_frame(self.server, user.token)
        else:
            c = await WsClient.connect(self.server, token=user.token)
        self.clients.append(c)
        return c


def main():
    global NATTERD
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--natterd", default=NATTERD or None)
    args, rest = parser.parse_known_args()
    if not args.natterd:
        here = os.path.dirname(os.path.abspath(__file__))
        args.natterd = os.path.join(here, "..", "..", "build", "release", "natterd")
    NATTERD = os.path.abspath(args.natterd)
    # Test modules do `import natter_harness`; when run as a script the module
    # is also __main__, so keep both views in sync.
    sys.modules[__name__].NATTERD = NATTERD
    if "natter_harness" in sys.modules:
        sys.modules["natter_harness"].NATTERD = NATTERD
    program = unittest.main(module="__main__", argv=[sys.argv[0]] + rest, exit=False, verbosity=2)
    result = program.result
    _cleanup_all()
    if result.skipped:
        print(f"FAILED: {len(result.skipped)} test(s) skipped; skips do not count as passes",
              file=sys.stderr)
        sys.exit(1)
    sys.exit(0 if result.wasSuccessful() and result.testsRun > 0 else 1)


# ---------------------------------------------------------------------------
# A client's local view built from sync frames, live events and history
# (additive helper for the sync / receipts / slow-consumer suites)
# ---------------------------------------------------------------------------

EFFECT_KINDS = ("edit", "delete", "reaction")


class ConversationView:
    """What one device knows about one conversation.

    rows: seq -> {"row": event dict as the server shows it, "asof": N}, where
    asof is the conversation position the row's state is known to include (a
    row from sync or history includes every change up to that snapshot's
    last_seq; a row first seen live includes changes up to its own seq).
    applied: seqs of edit/delete/reaction events whose effect is applied, so a
    repeated event (at-least-once delivery) is applied once.
    """

    def __init__(self, cid):
        self.id = cid
        self.rows = {}
        self.applied = set()
        self.meta = {}       # the conversation object from the last sync frame
        self.members = {}    # user_id -> member dict (watermarks), from sync and receipts
        self.title = None

    def store_row(self, row, asof):
        row = {k: v for k, v in row.items() if k not in ("duplicate", "pts")}
        cur = self.rows.get(row["seq"])
        if cur is None or cur["asof"] < asof:
            self.rows[row["seq"]] = {"row": json.loads(json.dumps(row)), "asof": asof}

    def apply_effect(self, ev):
        s = ev["seq"]
        kind = ev.get("kind", "message")
        if kind == "title_changed":
            if self.title is None or s >= self.meta.get("_title_seq", 0):
                self.title = ev.get("text", "")
                self.meta["_title_seq"] = s
        if kind not in EFFECT_KINDS or s in self.applied:
            return
        self.applied.add(s)
        t = ev["target_seq"]
        if kind == "delete":
            for r in self.rows.values():
                if (r["row"].get("kind") in ("edit", "reaction") and r["row"].get("target_seq") == t
                        and r["asof"] < s):
                    r["row"]["text"] = ""
        target = self.rows.get(t)
        if target is None or target["asof"] >= s:
            return
        row = target["row"]
        if kind == "edit":
            row["text"] = ev.get("text", "")
            row["edited_at"] = ev["created_at"]
        elif kind == "delete":
            row["deleted"] = True
            row.pop("text", None)
            row.pop("reactions", None)
        else:
            reactions = [r for r in row.get("reactions", []) if r["user_id"] != ev["sender_id"]]
            if ev.get("text"):
                reactions.append({"user_id": ev["sender_id"], "emoji": ev["text"]})
            reactions.sort(key=lambda r: r["user_id"])
            if reactions:
                row["reactions"] = reactions
            else:
                row.pop("reactions", None)
        target["asof"] = s

    def apply_live(self, ev):
        self.store_row(ev, ev["seq"])
        self.apply_effect(ev)

    def apply_snapshot(self, rows, asof):
        for row in sorted(rows, key=lambda r: r["seq"]):
            self.store_row(row, asof)
            self.apply_effect(row)

    def listing(self):
        """The rows in seq order, as the server's history shows them."""
        return [self.rows[s]["row"] for s in sorted(self.rows)]

    def max_seq(self):
        return max(self.rows) if self.rows else 0


async def history_from(client, cid, after=0, upto=None, page=100, max_pages=1000):
    """Every row of conversation cid after `after` (up to `upto` if given), ascending,
    and the last_seq of the last page read."""
    rows, last_seq = [], 0
    for _ in range(max_pages):
        data = await client.call("messages.history", conversation_id=cid, after=after, limit=page)
        rows.extend(data["messages"])
        last_seq = data["last_seq"]
        if not data["messages"] or not data["has_more"]:
            return rows, last_seq
        after = data["messages"][-1]["seq"]
        if upto is not None and after >= upto:
            return rows, last_seq
    raise AssertionError(f"history of {cid} did not end within {max_pages} pages")


class Device:
    """One device of a user: a WsClient plus a local view kept from sync frames,
    live events, its own acknowledgements and history (for gap ranges).

    Frames are processed in arrival order through a cursor over
    client.all_frames, so a sync's frames, its answer and the live events
    released after it are applied in the order the server sent them."""

    def __init__(self, server, user, name="dev"):
        self.server = server
        self.user = user
        self.name = name
        self.client = None
        self.token = None
        self.cursor = 0
        self.convs = {}
        self.removed = set()
        self.act_ids = {}        # request id key -> method, for answers that are events
        self.ack_pts = []        # pts carried by the answers to this device's own changes
        self.sync_results = []   # (answer data, [sync.conversation data]) per sync
        self.live = []           # live message frames in arrival order
        self.receipts = []       # live receipt frames
        self.pts_seen = []       # pts of live frames that carried one, in order
        self.other = []          # any other event frame
        self.redelivered = []    # live entries after a sync answer that the catch-up already held
        self._covered = {}       # conversation -> last_seq of the latest catch-up on this connection
        self._batch = {}

    # -- connection ---------------------------------------------------------

    @property
    def online(self):
        return self.client is not None and not self.client.closed.is_set()

    async def connect(self):
        assert self.client is None
        self.client = await WsClient.connect(self.server, token=self.user.token)
        self.cursor = 0
        self.act_ids = {}
        self._batch = {}
        self._covered = {}
        self.live = []           # per connection
        return self

    async def disconnect(self):
        if self.client is None:
            return
        await self.pump()
        await self.client.close()
        self.client = None

    # -- the view -----------------------------------------------------------

    def conv(self, cid):
        if cid not in self.convs:
            self.convs[cid] = ConversationView(cid)
        return self.convs[cid]

    def _live_event(self, frame):
        ev = frame["message"]
        cid = ev["conversation_id"]
        kind = ev.get("kind")
        if ev.get("target_user") == self.user.id and kind in ("member_removed", "member_left"):
            self.removed.add(cid)
            self.convs.pop(cid, None)
            return
        if ev.get("target_user") == self.user.id and kind == "member_joined":
            self.removed.discard(cid)
        if cid in self.removed:
            return
        self.conv(cid).apply_live(ev)

    async def _finish_sync(self, rid, frame):
        entries = self._batch.pop(_id_key(rid), [])
        if frame.get("type") == "error":
            self.sync_results.append((frame, entries))
            return
        data = frame["data"]
        self.sync_results.append((data, entries))
        if data.get("resync_required"):
            return
        for entry in entries:
            cid = entry["conversation_id"]
            if entry.get("removed"):
                self.removed.add(cid)
                self.convs.pop(cid, None)
                continue
            self.removed.discard(cid)
            self._covered[cid] = max(self._covered.get(cid, 0), entry["conversation"]["last_seq"])
            cv = self.conv(cid)
            cv.meta = dict(entry["conversation"])
            cv.title = entry["conversation"].get("title")
            cv.meta["_title_seq"] = entry["conversation"]["last_seq"]
            cv.members = {m["user_id"]: dict(m) for m in entry["members"]}
            rows = list(entry["events"])
            snapshot = entry["conversation"]["last_seq"]
            gap = entry.get("gap")
            if gap:
                # Load the missed range first, then apply everything in seq order.
                hist, hist_last = await history_from(self.client, cid, after=gap["from"] - 1, upto=gap["to"])
                cv.apply_snapshot(hist, hist_last)
            cv.apply_snapshot(rows, snapshot)
        self.token = data["token"]

    async def pump(self):
        """Applies every frame received so far (and what arrives while gap
        ranges load)."""
        if self.client is None:
            return
        frames = self.client.all_frames
        while self.cursor < len(frames):
            frame = frames[self.cursor]
            self.cursor += 1
            kind = frame.get("type")
            rid = frame.get("id")
            if kind == "sync.conversation":
                self._batch.setdefault(_id_key(rid), []).append(frame["data"])
            elif kind in ("result", "error") and rid is not None:
                key = _id_key(rid)
                if key in self._batch or (kind == "result" and isinstance(frame.get("data"), dict)
                                          and "resync_required" in frame["data"]):
                    await self._finish_sync(rid, frame)
                elif key in self.act_ids and kind == "result":
                    method = self.act_ids.pop(key)
                    ev = frame["data"]
                    if isinstance(ev, dict) and "pts" in ev:
                        self.ack_pts.append(ev["pts"])
                    if method == "messages.react" and ev.get("kind") == "message":
                        pass  # a reaction that changed nothing: the answer is the message itself
                    elif isinstance(ev, dict) and "seq" in ev and "conversation_id" in ev:
                        if ev["conversation_id"] not in self.removed:
                            self.conv(ev["conversation_id"]).apply_live(ev)
            elif kind == "message":
                if "pts" in frame:
                    self.pts_seen.append(frame["pts"])
                self.live.append(frame)
                ev = frame["message"]
                if ev["seq"] <= self._covered.get(ev["conversation_id"], 0):
                    self.redelivered.append((ev["conversation_id"], ev["seq"]))
                self._live_event(frame)
            elif kind == "receipt":
                if "pts" in frame:
                    self.pts_seen.append(frame["pts"])
                self.receipts.append(frame)
                cid = frame["conversation_id"]
                if cid in self.convs:
                    m = self.convs[cid].members.setdefault(frame["user_id"], {"user_id": frame["user_id"]})
                    m["read_seq"] = max(m.get("read_seq", 0), frame["read_seq"])
                    m["delivered_seq"] = max(m.get("delivered_seq", 0), frame["delivered_seq"])
            else:
                if "pts" in frame:
                    self.pts_seen.append(frame["pts"])
                self.other.append(frame)

    async def sync(self, token=...):
        """Sends sync (with this device's last token unless given), applies the
        catch-up and what came before it; returns the answer frame."""
        if token is ...:
            token = self.token
        await self.pump()
        params = {"token": token} if token is not None else {}
        rid = await self.client.send_request("sync", **params)
        self._batch.setdefault(_id_key(rid), [])
        frame = await self.client.answer(rid, timeout=20)
        await self.pump()
        return frame

    async def sync_all(self, token=..., max_answers=100):
        """Syncs, then again while the answer says "more"; returns the answer frames."""
        frames = [await self.sync(token)]
        while (len(frames) < max_answers and frames[-1].get("type") == "result"
               and frames[-1]["data"].get("more")):
            frames.append(await self.sync())
        return frames

    async def act(self, method, **params):
        """A request whose answer is an event this connection will not get live
        (send, edit, delete, react): applied to the view when its answer is
        reached. Returns the answer frame."""
        rid = await self.client.send_request(method, **params)
        self.act_ids[_id_key(rid)] = method
        frame = await self.client.answer(rid)
        await self.pump()
        return frame

    async def settle(self, targets, timeout=10.0):
        """Pumps until every conversation in targets {cid: last_seq} is known up to
        that seq (or timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            await self.pump()
            if all(cid in self.removed or (cid in self.convs and self.convs[cid].max_seq() >= last)
                   for cid, last in targets.items()):
                return
            if time.monotonic() > deadline:
                got = {cid: self.convs[cid].max_seq() if cid in self.convs else None for cid in targets}
                raise AssertionError(f"{self.name}: view did not reach {targets} within {timeout}s: {got}")
            await asyncio.sleep(0.02)


async def server_view(client, cid):
    """The server's rows of conversation cid from seq 0 (messages.history), as a list."""
    rows, _ = await history_from(client, cid, after=0)
    return rows
