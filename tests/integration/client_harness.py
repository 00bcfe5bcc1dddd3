"""What the libnatter tests share: natterd on a fixed port, libnatter through
its C API (ctypes), scripted servers that misbehave, a proxy that can cut
connections, and a test CA for TLS."""

import base64
import ctypes
import hashlib
import json
import os
import signal
import socket
import subprocess
import time

import natter_harness as h

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(HERE, "..", "..", "build", "release")
CLI = os.environ.get("NATTER_CLI") or os.path.join(BUILD, "natter")
EXAMPLE = os.path.join(HERE, "..", "..", "examples", "chat_client.py")
LIB = os.environ.get("LIBNATTER") or os.path.join(BUILD, "libnatter", "libnatter.so")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """natterd on a fixed port, so it can be stopped and started again where clients expect it."""

    def __init__(self, data_dir, *args, scheme="http", host="127.0.0.1", log_path=None):
        self.data_dir, self.args, self.port, self.proc = data_dir, args, free_port(), None
        self.scheme, self.host, self.log_path = scheme, host, log_path

    def start(self):
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen([h._binary(), "--data-dir", self.data_dir, "--port", str(self.port),
                                      "--password-profile", "minimal", *h.group_adds_args(self.args),
                                      *self.args],
                                     stdout=log, stderr=log)
        if self.log_path:
            log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError("natterd did not start")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    @property
    def url(self):
        return f"{self.scheme}://{self.host}:{self.port}"


class Profiles:
    """The natter CLI on profiles under self.dir, against self.server."""

    cli_timeout = "5"

    def cli(self, profile, *args, check=True, timeout=30, wait=None):
        out = subprocess.run([CLI, "--server", self.server.url, "--profile", os.path.join(self.dir, profile),
                              "--timeout", wait or self.cli_timeout, *args], capture_output=True, text=True,
                             timeout=timeout)
        if check:
            self.assertEqual(out.returncode, 0, out.stderr + out.stdout)
        return out

    def cli_json(self, profile, *args):
        return json.loads(self.cli(profile, "--json", *args).stdout)

    def two_profiles(self):
        """alice and bob, logged in, and their direct conversation's id."""
        for who in ("alice", "bob"):
            self.cli(who, "register", who, f"password-{who}")
            self.cli(who, "login", who, f"password-{who}")
        return self.cli_json("alice", "create-direct", "bob")["id"]


class CApiClient:
    """libnatter through its C API, as an app binding would use it."""

    lib = None

    def __init__(self, server, directory, **options):
        if CApiClient.lib is None:
            lib = ctypes.CDLL(LIB)
            lib.natter_client_create.restype = ctypes.c_void_p
            lib.natter_client_create.argtypes = [ctypes.c_char_p]
            lib.natter_client_send.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
            lib.natter_client_receive.restype = ctypes.c_char_p
            lib.natter_client_receive.argtypes = [ctypes.c_void_p, ctypes.c_double]
            lib.natter_client_destroy.argtypes = [ctypes.c_void_p]
            lib.natter_last_error.restype = ctypes.c_char_p
            CApiClient.lib = lib
        opts = json.dumps(dict({"server": server.url, "database_directory": directory, "device": "ctypes"}, **options))
        self.handle = self.lib.natter_client_create(opts.encode())
        assert self.handle, "natter_client_create failed"
        self.events = []
        self.extra = 0

    def send_raw(self, text):
        self.lib.natter_client_send(self.handle, text.encode())

    def pump(self, timeout=0.1):
        raw = self.lib.natter_client_receive(self.handle, timeout)
        if raw is None:
            return None
        event = json.loads(raw.decode())
        self.events.append(event)
        return event

    def wait(self, pred, timeout=10.0, what="event"):
        for e in self.events:
            if pred(e):
                self.events.remove(e)
                return e
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            e = self.pump(0.1)
            if e is not None and pred(e):
                self.events.remove(e)
                return e
        raise AssertionError(f"no {what} within {timeout}s; seen: {[x.get('@type') for x in self.events][-20:]}")

    def call(self, request, timeout=10.0):
        self.extra += 1
        request = dict(request, **{"@extra": self.extra})
        self.send_raw(json.dumps(request))
        return self.wait(lambda e: e.get("@extra") == self.extra and e["@type"] in ("result", "error"), timeout,
                         f"answer to {request['@type']}")

    def close(self):
        if self.handle:
            self.lib.natter_client_destroy(self.handle)
            self.handle = None


class MisbehavingServer:
    """A WebSocket server that speaks just enough of the protocol and sends the
    frames a test gives it: malformed ones included. `script(n)` returns, for
    the n-th connection (from 0), the frames to send after the first sync's
    answer and the frames to send before each sync's answer (None: sync is
    never answered). `answer(request)`, when given, makes the data of the
    result to every other request."""

    def __init__(self, script, answer=None):
        import asyncio
        import threading
        import websockets
        self.script = script
        self.connections = 0
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.loop = asyncio.new_event_loop()
        started = threading.Event()

        async def handle(ws, path=None):
            n = self.connections
            self.connections += 1
            after_sync, during_sync = script(n)
            try:
                await serve_requests(ws, n, after_sync, during_sync)
            except websockets.ConnectionClosed:
                pass  # the client went away (as it does after a malformed catch-up)

        async def serve_requests(ws, n, after_sync, during_sync):
            import asyncio
            async for raw in ws:
                request = json.loads(raw)
                rid = request.get("id")
                if request.get("type") == "sync" and during_sync is None:
                    continue  # takes the request and never answers
                if request.get("type") == "sync":
                    for frame in during_sync:
                        if isinstance(frame, float):  # a pause, in seconds
                            await asyncio.sleep(frame)
                            continue
                        await ws.send(frame if isinstance(frame, str) else json.dumps(dict(frame, id=rid)))
                    await ws.send(json.dumps({"type": "result", "id": rid, "data": {
                        "resync_required": False, "conversations": 0, "pts": 0, "more": False, "token": f"t{n}"}}))
                    for frame in after_sync:
                        await ws.send(frame if isinstance(frame, str) else json.dumps(frame))
                    after_sync = []  # once a connection: a frame that asks for a sync does not loop
                else:
                    # `answer(request)` gives the data of other requests' results.
                    data = answer(request) if answer else {}
                    await ws.send(json.dumps({"type": "result", "id": rid, "data": data}))

        async def serve():
            self.server = await websockets.serve(handle, "127.0.0.1", self.port)
            started.set()

        def run():
            self.loop.run_until_complete(serve())
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert started.wait(10), "the scripted server did not start"

    def close(self):
        async def stop():
            self.server.close()
            await self.server.wait_closed()
        import asyncio
        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


class SwitchableProxy:
    """A TCP forwarder to `port` that the test can cut: while off it closes
    what it carries and refuses new connections."""

    def __init__(self, port):
        import threading
        self.target, self.on, self.pairs = port, True, []
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        import threading
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.on:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target))
            with self.lock:
                self.pairs.append((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for x in (a, b):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def set(self, on):
        self.on = on
        if not on:
            with self.lock:
                pairs, self.pairs = self.pairs, []
            for pair in pairs:
                for x in pair:
                    try:
                        x.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

    def close(self):
        self.set(False)
        self.listener.close()


class TestCA:
    """A certificate authority made for one test run with the openssl tool,
    and server certificates it signs."""

    def __init__(self, directory, name):
        self.dir, self.name = directory, name
        self.key, self.cert = os.path.join(directory, f"{name}.key"), os.path.join(directory, f"{name}.pem")
        self._openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                      "-subj", f"/CN={name}", "-keyout", self.key, "-out", self.cert,
                      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")

    def _openssl(self, *args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    def issue(self, name, dns_names):
        """A server certificate for `dns_names`: returns (certificate file, key file)."""
        key, csr = os.path.join(self.dir, f"{name}.key"), os.path.join(self.dir, f"{name}.csr")
        cert, ext = os.path.join(self.dir, f"{name}.pem"), os.path.join(self.dir, f"{name}.ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=" + ",".join(f"DNS:{d}" for d in dns_names) + "\n")
            f.write("basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
        self._openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj",
                      f"/CN={dns_names[0]}", "-keyout", key, "-out", csr)
        self._openssl("x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey", self.key, "-CAcreateserial",
                      "-days", "2", "-extfile", ext, "-out", cert)
        return cert, key


def spki_pin(key_file):
    """The pin of a key as libnatter takes it: sha256/<base64 of its DER SubjectPublicKeyInfo's SHA-256>."""
    der = subprocess.run(["openssl", "pkey", "-in", key_file, "-pubout", "-outform", "DER"], check=True,
                         capture_output=True).stdout
    return "sha256/" + base64.b64encode(hashlib.sha256(der).digest()).decode()


class RawServer:
    """A TCP server whose every connection is given to `handler(sock, n)` on a
    thread of its own (n counts connections from 0): for servers that break
    the protocol below the WebSocket layer."""

    def __init__(self, handler):
        import threading
        self.handler, self.connections, self.sockets = handler, 0, []
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        import threading
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            n = self.connections
            self.connections += 1
            self.sockets.append(sock)
            threading.Thread(target=self._run, args=(sock, n), daemon=True).start()

    def _run(self, sock, n):
        try:
            self.handler(sock, n)
        except OSError:
            pass

    @staticmethod
    def read_request(sock):
        """The request head, up to the blank line."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        return data.decode("latin-1")

    @staticmethod
    def upgrade(sock):
        """Completes a WebSocket upgrade (RFC 6455 section 4.2.2)."""
        request = RawServer.read_request(sock)
        key = next(line.split(":", 1)[1].strip() for line in request.split("\r\n")
                   if line.lower().startswith("sec-websocket-key:"))
        accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
        sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")

    def close(self):
        self.listener.close()
        for sock in self.sockets:
            try:
                sock.close()
            except OSError:
                pass
