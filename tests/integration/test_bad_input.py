"""Every kind of bad input a client can send natterd, each answered with its
typed error (or close code), with proof that nothing changed and that the
server keeps serving everyone else."""

import asyncio
import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import natter_harness as h  # noqa: E402
from natter_harness import RawWebSocket, WsClient  # noqa: E402

MAX_FRAME = 4096
MAX_TEXT = 1000
HTTP_TIMEOUT_MS = 1500
AUTH_TIMEOUT_MS = 1500
ALLOWED_ORIGIN = "https://app.example.com"

SERVER = None   # the main server, shared by most tests
OTHER = None    # a second natterd with its own signing key
OBSERVER = None  # a user of SERVER whose view proves the server still serves others


def setUpModule():
    global SERVER, OTHER, OBSERVER
    SERVER = h.Natterd("--max-frame-bytes", str(MAX_FRAME), "--max-text-bytes", str(MAX_TEXT),
                       "--allowed-origins", ALLOWED_ORIGIN, "--http-timeout-ms", str(HTTP_TIMEOUT_MS),
                       "--auth-timeout-ms", str(AUTH_TIMEOUT_MS), name="main").start()
    OTHER = h.Natterd(name="other").start()
    OBSERVER = SERVER.new_user("observer")


def tearDownModule():
    for s in (SERVER, OTHER):
        if s is not None:
            s.close()


async def assert_still_serving(server=None, observer=None):
    """A different client can still do real work: HTTP health, a fresh
    WebSocket, a committed message."""
    server = server or SERVER
    observer = observer or OBSERVER
    assert server.running(), "natterd is gone:\n" + server.log_text()
    assert server.text("/healthz") == (200, "ok\n")
    c = await WsClient.connect(server, token=observer.token)
    try:
        assert (await c.call("ping")) == {"pong": True}
        conv = await c.call("conversations.create", kind="group", title="alive", members=[])
        ack = await c.call("messages.send", conversation_id=conv["id"], client_msg_id="alive", text="alive")
        assert ack["seq"] == 1 and ack["duplicate"] is False, ack
    finally:
        await c.close()


async def error_with_or_without_id(client, rid, timeout=5.0):
    """The first error answer to rid, or the first error frame without an id."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if h._id_key(rid) in client.answers:
            return client.answers.pop(h._id_key(rid))
        for i, f in enumerate(client.frames):
            if f.get("type") == "error":
                del client.frames[i]
                return f
        await asyncio.sleep(0.02)
    raise AssertionError(f"no error for {rid!r} within {timeout}s")


class Base(h.AsyncTestCase):
    timeout = 60

    async def asyncSetUp(self):
        self.clients = []
        self.raws = []
        self.server = SERVER
        if not SERVER.running():
            # An earlier test brought it down (and failed for it); start it again
            # on the same data directory so later tests still test something.
            SERVER.restart()
        # Fixture: alice owns group G with bob and one message in it.
        self.alice = self.server.new_user("alice")
        self.bob = self.server.new_user("bob")
        status, conv = self.server.http("POST", "/v1/conversations",
                                        {"kind": "group", "title": "G", "members": [self.bob.id]},
                                        token=self.alice.token)
        assert status == 200, conv
        self.cid = conv["id"]
        status, ack = self.server.http("POST", f"/v1/conversations/{self.cid}/messages",
                                       {"client_msg_id": "first", "text": "first message"},
                                       token=self.alice.token)
        assert status == 200, ack
        self.before = self.snapshot()

    async def asyncTearDown(self):
        for c in self.clients:
            await c.close()
        for r in self.raws:
            r.close()

    def snapshot(self, cid=None, user=None):
        """Everything observable about a conversation."""
        cid = cid or self.cid
        user = user or self.alice
        status, conv = self.server.http("GET", f"/v1/conversations/{cid}", token=user.token)
        self.assertEqual(status, 200, conv)
        status, page = self.server.http("GET", f"/v1/conversations/{cid}/messages?limit=100", token=user.token)
        self.assertEqual(status, 200, page)
        return conv, page

    async def assert_unchanged(self):
        self.assertEqual(self.snapshot(), self.before)
        await assert_still_serving(self.server)

    async def connect(self, user=None, **kw):
        c = await WsClient.connect(self.server, token=(user or self.alice).token, **kw)
        self.clients.append(c)
        return c

    def raw(self, token=None, **kw):
        r = RawWebSocket(self.server.port, token=token or self.alice.token, **kw)
        self.raws.append(r)
        return r

    async def expect_error(self, client, code, method, **params):
        frame = await client.error(method, **params)
        self.assertEqual(frame["code"], code, frame)
        self.assertIsInstance(frame["message"], str)
        return frame


# ---------------------------------------------------------------------------
# Frames
# ---------------------------------------------------------------------------


class FrameTest(Base):

    async def test_malformed_json_frame(self):
        c = await self.connect()
        for text in ('{"type": "messages.send", "id": 7, ', "{not json}", '{"type":"ping"} trailing',
                     '{"type":"ping","id":1' + ',"a":[' * 40 + ']' * 40 + '}'):
            await c.send_raw(text)
            frame = await c.wait_for(lambda f: f.get("type") == "error", 5, "error for malformed JSON")
            self.assertEqual((frame["code"], frame["id"]), ("bad_request", None), (text, frame))
        self.assertEqual(await c.call("ping"), {"pong": True})  # the connection stays usable
        await self.assert_unchanged()

    async def test_json_that_is_not_an_object(self):
        c = await self.connect()
        for text in ("[1,2,3]", '"messages.send"', "42", "null", "true", ""):
            await c.send_raw(text)
            frame = await c.wait_for(lambda f: f.get("type") == "error", 5, f"error for {text!r}")
            self.assertEqual(frame, {"type": "error", "id": None, "code": "bad_request",
                                     "message": frame["message"]}, text)
        self.assertEqual(await c.call("ping"), {"pong": True})
        await self.assert_unchanged()

    async def test_unknown_type_and_bad_envelope(self):
        c = await self.connect()
        frame = await c.request("messages.teleport", conversation_id=self.cid, seq=1)
        self.assertEqual((frame["type"], frame["code"]), ("error", "bad_request"), frame)
        self.assertIn("messages.teleport", frame["message"])
        # No type, a type that is not a string, an id that is neither string nor integer.
        for envelope, expected_id in (({"id": 11}, 11), ({"id": 12, "type": 5}, 12),
                                      ({"id": 13, "type": None}, 13), ({"id": {"x": 1}, "type": "ping"}, None),
                                      ({"id": 1.5, "type": "ping"}, None), ({"id": [1], "type": "ping"}, None)):
            await c.send_json(envelope)
            if expected_id is not None:
                frame = await c.answer(expected_id, 5)
            else:
                frame = await c.wait_for(lambda f: f.get("type") == "error", 5, f"error for {envelope}")
            self.assertEqual((frame["code"], frame["id"]), ("bad_request", expected_id), envelope)
        self.assertEqual(await c.call("ping"), {"pong": True})
        await self.assert_unchanged()

    async def test_missing_and_wrongly_typed_fields(self):
        c = await self.connect()
        cid = self.cid
        long_id = "x" * 65
        cases = [
            ("messages.send", {"client_msg_id": "a", "text": "t"}, "bad_request"),
            ("messages.send", {"conversation_id": str(cid), "client_msg_id": "a", "text": "t"}, "bad_request"),
            ("messages.send", {"conversation_id": cid + 0.5, "client_msg_id": "a", "text": "t"}, "bad_request"),
            ("messages.send", {"conversation_id": 2 ** 64, "client_msg_id": "a", "text": "t"}, "bad_request"),
            ("messages.send", {"conversation_id": -cid, "client_msg_id": "a", "text": "t"}, "bad_request"),
            ("messages.send", {"conversation_id": cid, "text": "t"}, "bad_request"),
            ("messages.send", {"conversation_id": cid, "client_msg_id": 5, "text": "t"}, "bad_request"),
            ("messages.send", {"conversation_id": cid, "client_msg_id": "", "text": "t"}, "bad_request"),
            ("messages.send", {"conversation_id": cid, "client_msg_id": long_id, "text": "t"}, "too_large"),
            ("messages.send", {"conversation_id": cid, "client_msg_id": "a"}, "bad_request"),
            ("messages.send", {"conversation_id": cid, "client_msg_id": "a", "text": 5}, "bad_request"),
            ("messages.send", {"conversation_id": cid, "client_msg_id": "a", "text": ["t"]}, "bad_request"),
            ("messages.send", {"conversation_id": cid, "client_msg_id": "a", "text": ""}, "bad_request"),
            ("messages.send", {"conversation_id": cid, "client_msg_id": "a", "text": "nul\u0000byte"},
             "bad_request"),
            ("messages.send", {"conversation_id": cid, "client_msg_id": "a", "text": "t", "reply_to": "1"},
             "bad_request"),
            ("messages.send", {"conversation_id": cid, "client_msg_id": "a", "text": "t", "reply_to": -1},
             "bad_request"),
            ("messages.history", {}, "bad_request"),
            ("messages.history", {"conversation_id": cid, "limit": "ten"}, "bad_request"),
            ("messages.read", {"conversation_id": cid}, "bad_request"),
            ("messages.read", {"conversation_id": cid, "seq": "1"}, "bad_request"),
            ("conversations.create", {}, "bad_request"),
            ("conversations.create", {"kind": 1}, "bad_request"),
            ("conversations.create", {"kind": "group", "title": "t" * 300}, "too_large"),
            ("conversations.rename", {"conversation_id": cid}, "bad_request"),
            ("conversations.rename", {"conversation_id": cid, "title": "t" * 300}, "too_large"),
            ("conversations.rename", {"conversation_id": cid, "title": "nul\u0000"}, "bad_request"),
            ("members.add", {"conversation_id": cid}, "bad_request"),
            ("members.add", {"conversation_id": cid, "user_ids": self.bob.id}, "bad_request"),
            ("members.add", {"conversation_id": cid, "user_ids": [OBSERVER.id], "role": "king"}, "bad_request"),
            ("members.set_role", {"conversation_id": cid, "user_id": self.bob.id}, "bad_request"),
            ("members.set_role", {"conversation_id": cid, "user_id": self.bob.id, "role": 2}, "bad_request"),
            ("members.remove", {"conversation_id": cid}, "bad_request"),
            ("users.get", {}, "bad_request"),
            ("users.get", {"user_id": "me"}, "bad_request"),
        ]
        for method, params, code in cases:
            frame = await c.request(method, **params)
            self.assertEqual((frame["type"], frame.get("code")), ("error", code), (method, params, frame))
        # A lone surrogate escaped in JSON is not text either.
        await c.send_raw('{"type":"messages.send","id":"sur","conversation_id":%d,'
                         '"client_msg_id":"s","text":"\\ud800"}' % cid)
        # Refused by the JSON parser (an error without id) or by the text check (with it).
        frame = await error_with_or_without_id(c, "sur")
        self.assertEqual(frame["code"], "bad_request", frame)
        self.assertEqual(await c.call("ping"), {"pong": True})
        await c.expect_no_event("conversation", within=0.2)
        status, listing = self.server.http("GET", "/v1/conversations", token=self.alice.token)
        self.assertEqual([x["id"] for x in listing["conversations"]], [cid])  # nothing was created
        await self.assert_unchanged()

    async def test_conversation_create_with_bad_fields(self):
        """Bad fields of conversations.create, each on a server of its own so
        that one that brings the server down cannot hide the others."""
        cases = [
            ("ws", {"kind": "direct"}),
            ("ws", {"kind": "direct", "peer_id": "bob"}),
            ("ws", {"kind": "group", "title": 5}),
            ("ws", {"kind": "group", "title": "t", "members": "bob"}),
            ("ws", {"kind": "channel", "title": "t", "members": [1, "x"]}),
            ("http", {"kind": "direct"}),
        ]
        failures = []
        for transport, params in cases:
            server = h.Natterd(name="create-fields").start()
            try:
                user, peer = server.new_user("cf"), server.new_user("cf")
                if transport == "ws":
                    c = await WsClient.connect(server, token=user.token)
                    try:
                        frame = await c.request("conversations.create", timeout=5, **params)
                        got = (frame["type"], frame.get("code"))
                    except AssertionError as e:
                        got = ("no answer", str(e)[:80])
                    finally:
                        await c.close()
                    expected = ("error", "bad_request")
                else:
                    try:
                        status, body = server.http("POST", "/v1/conversations", params, token=user.token,
                                                   timeout=5)
                        got = (status, h.error_of(body)[0])
                    except OSError as e:
                        got = ("no answer", repr(e))
                    expected = (400, "bad_request")
                await asyncio.sleep(0.2)
                alive = server.running()
                if got != expected or not alive:
                    failures.append(f"{transport} conversations.create {params}: got {got}, "
                                    f"server alive: {alive}; log tail: {server.log_text()[-200:]!r}")
                    continue
                await assert_still_serving(server, peer)
            finally:
                server.close()
        if failures:
            self.fail(f"{len(failures)} of {len(cases)} bad conversations.create requests were not "
                      "answered bad_request by a surviving server:\n" + "\n".join(failures))

    async def test_oversized_message_text(self):
        c = await self.connect()
        b = await self.connect(self.bob)
        frame = await self.expect_error(c, "too_large", "messages.send", conversation_id=self.cid,
                                        client_msg_id="big", text="x" * (MAX_TEXT + 1))
        # The limit is in bytes: 334 three-byte characters are 1002 bytes.
        await self.expect_error(c, "too_large", "messages.send", conversation_id=self.cid,
                                client_msg_id="big-utf8", text="\u20ac" * 334)
        status, body = self.server.http("POST", f"/v1/conversations/{self.cid}/messages",
                                        {"client_msg_id": "big-http", "text": "y" * (MAX_TEXT + 1)},
                                        token=self.alice.token)
        self.assertEqual((status, h.error_of(body)[0]), (413, "too_large"))
        await b.expect_no_event("message", within=0.3)
        await self.assert_unchanged()
        # Exactly at the limit is fine.
        ack = await c.call("messages.send", conversation_id=self.cid, client_msg_id="max",
                           text="z" * MAX_TEXT)
        self.assertEqual((ack["seq"], len(ack["text"])), (2, MAX_TEXT))
        self.assertIn(str(MAX_TEXT), frame["message"])

    async def test_oversized_websocket_frame_closes_1009(self):
        c = await self.connect()
        at_limit = json.dumps({"type": "ping", "id": 1, "pad": ""})
        at_limit = at_limit[:-2] + "p" * (MAX_FRAME - len(at_limit)) + '"}'
        self.assertEqual(len(at_limit.encode()), MAX_FRAME)
        self.assertEqual(await c.call("ping", pad="q" * 100), {"pong": True})
        await c.send_raw(at_limit)
        self.assertEqual((await c.answer(1))["type"], "result")
        await c.send_raw(json.dumps({"type": "messages.send", "id": 2, "conversation_id": self.cid,
                                     "client_msg_id": "huge", "text": "h" * (MAX_FRAME + 10)}))
        code, reason = await c.wait_closed(5)
        self.assertEqual(code, 1009, reason)
        # The same limit holds for a message split in fragments.
        r = self.raw()
        self.assertEqual(r.status, 101)
        r.send_frame(h.OP_TEXT, b'{"type":"ping","id":1,"pad":"' + b"a" * 3000, fin=False)
        r.send_frame(h.OP_CONT, b"a" * 3000 + b'"}', fin=True)
        self.assertEqual(r.expect_close(5)[0], 1009)
        await self.assert_unchanged()

    async def test_invalid_utf8_closes_1007(self):
        r = self.raw()
        self.assertEqual(r.status, 101)
        r.send_json({"type": "ping", "id": 1})
        self.assertEqual(r.recv_json(5), {"type": "result", "id": 1, "data": {"pong": True}})
        payload = ('{"type":"messages.send","id":2,"conversation_id":%d,"client_msg_id":"u",'
                   '"text":"bad \xc3\x28 byte"}' % self.cid).encode("latin-1")
        r.send_frame(h.OP_TEXT, payload)
        code, _ = r.expect_close(5)
        self.assertEqual(code, 1007)
        # Split across fragments: a sequence cut by a continuation that does not continue it.
        r2 = self.raw()
        r2.send_frame(h.OP_TEXT, b'{"type":"ping","id":3,"pad":"\xe2\x82', fin=False)
        r2.send_frame(h.OP_CONT, b'("}', fin=True)
        self.assertEqual(r2.expect_close(5)[0], 1007)
        # A message that ends inside a sequence.
        r3 = self.raw()
        r3.send_frame(h.OP_TEXT, b'{"type":"ping","id":4}\xf0\x9f')
        self.assertEqual(r3.expect_close(5)[0], 1007)
        await self.assert_unchanged()

    async def test_binary_frame_closes_1003(self):
        c = await self.connect()
        b = await self.connect(self.bob)
        await c.send_raw(json.dumps({"type": "messages.send", "id": 1, "conversation_id": self.cid,
                                     "client_msg_id": "bin", "text": "as binary"}).encode())
        code, _ = await c.wait_closed(5)
        self.assertEqual(code, 1003)
        await b.expect_no_event("message", within=0.3)
        self.assertEqual(await b.call("ping"), {"pong": True})
        await self.assert_unchanged()

    async def test_frames_sent_with_the_upgrade_request(self):
        """Bytes that arrive in the same packet as the upgrade (here: a binary frame
        that ends the connection) are handled like any others, and the connection is
        fully released: the server stays up, counts it gone, and keeps serving."""
        for token in (self.alice.token, None):
            sock = h.socket.create_connection((h.HOST, self.server.port), timeout=5)
            key = h.base64.b64encode(os.urandom(16)).decode()
            lines = ["GET /v1/ws HTTP/1.1", f"Host: {h.HOST}", "Upgrade: websocket", "Connection: Upgrade",
                     f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
            if token:
                lines.append(f"Authorization: Bearer {token}")
            request = ("\r\n".join(lines) + "\r\n\r\n").encode()
            sock.sendall(request + h.RawWebSocket.encode_frame(0x2, b"\x01\x02"))
            data = b""
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
            sock.close()
            self.assertIn(b"101 Switching Protocols", data)
            self.assertIn(h.struct.pack("!H", 1003), data)  # the close frame's code
        # A second past the worker's tick: nothing left behind points at them.
        await asyncio.sleep(1.5)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.server.metrics().get("natter_connections", 0) != 0:
            await asyncio.sleep(0.1)
        self.assertEqual(self.server.metrics().get("natter_connections"), 0)
        await self.assert_unchanged()

    async def test_deflate_bomb_closes_1009(self):
        # With the library's permessage-deflate.
        c = await self.connect(compression="deflate")
        self.assertTrue(c.ws.extensions, "permessage-deflate was not negotiated")
        # Compressible and bigger than the limit on the wire would be fine if
        # inflated it fits: 3000 bytes of padding.
        self.assertEqual(await c.call("ping", pad="a" * 3000), {"pong": True})
        await c.send_raw(json.dumps({"type": "ping", "id": 99, "pad": "b" * 1_000_000}))
        code, _ = await c.wait_closed(5)
        self.assertEqual(code, 1009)
        # By hand: a 120-byte frame that inflates to 1 MB.
        r = self.raw(extensions="permessage-deflate; client_max_window_bits")
        self.assertEqual(r.status, 101)
        self.assertIn("permessage-deflate", r.headers.get("sec-websocket-extensions", ""))
        r.send_deflated(json.dumps({"type": "ping", "id": 1}).encode())
        self.assertEqual(r.recv_json(5), {"type": "result", "id": 1, "data": {"pong": True}})
        wire = r.send_deflated(b'{"type":"ping","id":2,"pad":"' + b"c" * 1_000_000 + b'"}')
        self.assertLess(wire, MAX_FRAME)
        self.assertEqual(r.expect_close(5)[0], 1009)
        # Corrupt deflate data is invalid payload.
        r2 = self.raw(extensions="permessage-deflate")
        r2.send_frame(h.OP_TEXT, b"\xff\xff\xff\xff not deflate", rsv1=True)
        self.assertEqual(r2.expect_close(5)[0], 1007)
        # RSV1 without having negotiated deflate is a protocol error.
        r3 = self.raw()
        r3.send_frame(h.OP_TEXT, b"\x01\x02", rsv1=True)
        self.assertEqual(r3.expect_close(5)[0], 1002)
        await self.assert_unchanged()

    async def test_protocol_violations(self):
        # Unmasked client frame, reserved opcode, oversized control frame.
        for frame in (RawWebSocket.encode_frame(h.OP_TEXT, b'{"type":"ping","id":1}', mask=False),
                      RawWebSocket.encode_frame(3, b"x"),
                      RawWebSocket.encode_frame(h.OP_PING, b"p" * 126),
                      RawWebSocket.encode_frame(h.OP_CONT, b"x")):
            r = self.raw()
            r.sock.sendall(frame)
            self.assertEqual(r.expect_close(5)[0], 1002, frame[:4])
        await self.assert_unchanged()

    async def test_auth_timeout_closes_4001(self):
        c = await WsClient.connect(self.server)
        self.clients.append(c)
        await self.expect_error(c, "unauthorized", "conversations.list")
        self.assertEqual(await c.call("ping"), {"pong": True})
        start = time.monotonic()
        code, _ = await c.wait_closed(AUTH_TIMEOUT_MS / 1000 + 3)
        self.assertEqual(code, 4001)
        self.assertGreater(time.monotonic() - start, 0.5)
        await self.assert_unchanged()


# ---------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------


class TokenTest(Base):

    def forged_tokens(self):
        kid, secret = h.read_signing_key(self.server)
        header, claims = h.decode_token(self.alice.token)
        now = int(time.time())
        expired = dict(claims, iat=now - 7200, nbf=now - 7200, exp=now - 3600)
        other_kid, other_secret = h.read_signing_key(OTHER)
        foreigner = OTHER.new_user("foreign")
        head, body, sig = self.alice.token.split(".")
        as_bob = dict(claims, sub=str(self.bob.id))
        flipped_sig = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
        return {
            "expired": h.forge_token(header, expired, secret),
            "tampered_payload": head + "." + h.b64url(json.dumps(as_bob)) + "." + sig,
            "tampered_signature": head + "." + body + "." + flipped_sig,
            "alg_none": h.forge_token({"alg": "none", "typ": "JWT", "kid": kid}, claims, None),
            "alg_none_signed": h.forge_token({"alg": "none", "typ": "JWT", "kid": kid}, claims, secret),
            "alg_none_no_kid": h.forge_token({"alg": "none"}, claims, None),
            "other_server": foreigner.token,
            "other_key_our_kid": h.forge_token(header, claims, other_secret),
            "other_key_their_kid": h.forge_token(dict(header, kid=other_kid), claims, other_secret),
            "garbage": "not.a.token",
        }

    async def test_bad_tokens_are_unauthorized_everywhere(self):
        # The genuine token works, so the refusals below are about the tokens.
        status, _ = self.server.http("GET", "/v1/conversations", token=self.alice.token)
        self.assertEqual(status, 200)
        for name, token in self.forged_tokens().items():
            with self.subTest(token=name):
                status, body = self.server.http("GET", "/v1/conversations", token=token)
                self.assertEqual((status, h.error_of(body)[0]), (401, "unauthorized"), (name, body))
                if name == "expired":
                    self.assertEqual(h.error_of(body)[1], "token_expired")
                status, body = self.server.http("POST", f"/v1/conversations/{self.cid}/messages",
                                                {"client_msg_id": name, "text": "forged"}, token=token)
                self.assertEqual((status, h.error_of(body)[0]), (401, "unauthorized"), (name, body))
                # Upgrade with the token in the header: refused.
                self.assertEqual(await h.ws_refused_status(self.server, extra_headers={
                    "Authorization": "Bearer " + token}), 401, name)
                # First-frame authentication: the connection is closed with 4001
                # (4002 for an expired token) and nothing is served on it.
                c = await WsClient.connect(self.server)
                self.clients.append(c)
                await c.send_json({"type": "auth", "id": 1, "token": token})
                try:
                    await c.send_json({"type": "conversations.list", "id": 2})
                except h.websockets.exceptions.ConnectionClosed:
                    pass  # already closed: fine
                code, reason = await c.wait_closed(5)
                self.assertEqual(code, 4002 if name == "expired" else 4001, (name, reason))
                self.assertFalse([f for f in c.all_frames if f.get("type") == "result"], name)
        await self.assert_unchanged()

    async def test_refused_auth_frame_is_answered_before_the_close(self):
        """The auth request gets its typed error answer, then the close frame."""
        kid, secret = h.read_signing_key(self.server)
        header, claims = h.decode_token(self.alice.token)
        now = int(time.time())
        cases = {"expired": (h.forge_token(header, dict(claims, iat=now - 7200, nbf=now - 7200,
                                                         exp=now - 3600), secret), 4002),
                 "alg_none": (h.forge_token({"alg": "none", "typ": "JWT", "kid": kid}, claims, None), 4001)}
        for name, (token, close_code) in cases.items():
            with self.subTest(token=name):
                c = await WsClient.connect(self.server)
                self.clients.append(c)
                await c.send_json({"type": "auth", "id": "a1", "token": token})
                code, _ = await c.wait_closed(5)
                self.assertEqual(code, close_code)
                answers = [f for f in c.all_frames if f.get("id") == "a1"]
                self.assertEqual([(f["type"], f.get("code")) for f in answers], [("error", "unauthorized")],
                                 f"{name}: the auth request got no answer before the close "
                                 f"(frames received: {c.all_frames})")

    async def test_connection_cannot_change_user(self):
        c = await self.connect(self.alice)
        frame = await c.error("auth", token=self.bob.token)
        self.assertEqual(frame["code"], "forbidden", frame)
        # A fresh token of the same user is fine, and the connection is still alice's.
        data = await c.call("auth", token=self.server.relogin(self.alice).token)
        self.assertEqual(data["user_id"], self.alice.id)
        self.assertEqual(await c.call("users.get", user_id=self.alice.id),
                         {"user_id": self.alice.id, "handle": self.alice.handle})
        await self.assert_unchanged()

    async def test_connection_closed_when_its_token_expires(self):
        server = h.Natterd("--access-token-ttl", "1", name="ttl1").start()
        try:
            user = server.new_user("ttl")
            c = await WsClient.connect(server, token=user.token)
            self.clients.append(c)
            self.assertEqual(await c.call("ping"), {"pong": True})
            code, reason = await c.wait_closed(6)
            self.assertEqual((code, reason), (4002, "token_expired"))
            # A fresh token from the refresh token opens a new connection.
            status, fresh = server.http("POST", "/v1/auth/refresh", {"refresh_token": user.refresh})
            self.assertEqual(status, 200, fresh)
            c2 = await WsClient.connect(server, token=fresh["access_token"])
            self.clients.append(c2)
            self.assertEqual(await c2.call("ping"), {"pong": True})
        finally:
            server.close()
        await self.assert_unchanged()

    async def test_refresh_token_rotation_and_reuse(self):
        status, r1 = self.server.http("POST", "/v1/auth/refresh", {"refresh_token": self.alice.refresh})
        self.assertEqual(status, 200, r1)
        self.assertEqual((r1["user_id"], r1["session_id"]), (self.alice.id, self.alice.session))
        self.assertNotEqual(r1["refresh_token"], self.alice.refresh)
        status, _ = self.server.http("GET", "/v1/conversations", token=r1["access_token"])
        self.assertEqual(status, 200)
        # A second session of the same user must not be affected by what follows.
        other_session = self.server.relogin(self.alice, "tablet")
        # Reusing the rotated token: refused, and the whole session is revoked.
        status, body = self.server.http("POST", "/v1/auth/refresh", {"refresh_token": self.alice.refresh})
        self.assertEqual((status, h.error_of(body)[0]), (401, "unauthorized"), body)
        status, body = self.server.http("POST", "/v1/auth/refresh", {"refresh_token": r1["refresh_token"]})
        self.assertEqual((status, h.error_of(body)[0]), (401, "unauthorized"), body)
        # The revoked session's access tokens stop at once, not at their expiry.
        for token in (self.alice.token, r1["access_token"]):
            status, body = self.server.http("GET", "/v1/conversations", token=token)
            self.assertEqual((status, h.error_of(body)[0]), (401, "unauthorized"), body)
        status, body = self.server.http("POST", "/v1/auth/refresh",
                                        {"refresh_token": other_session.refresh})
        self.assertEqual(status, 200, body)
        status, _ = self.server.http("GET", "/v1/conversations", token=other_session.token)
        self.assertEqual(status, 200)
        self.alice = other_session  # what follows reads as alice, through her live session
        # Malformed refresh requests.
        for payload, expected in (({"refresh_token": "nonsense"}, 401), ({"refresh_token": "x" * 300}, 401),
                                  ({"refresh_token": ""}, 401), ({}, 400), ({"refresh_token": 5}, 400)):
            status, body = self.server.http("POST", "/v1/auth/refresh", payload)
            self.assertEqual(status, expected, (payload, body))
        await self.assert_unchanged()

    async def test_logout_revokes_refresh(self):
        status, body = self.server.http("POST", "/v1/auth/logout", token=self.bob.token)
        self.assertEqual((status, body), (200, {}))
        status, body = self.server.http("POST", "/v1/auth/refresh", {"refresh_token": self.bob.refresh})
        self.assertEqual((status, h.error_of(body)[0]), (401, "unauthorized"), body)
        # The access token of the ended session is refused at once.
        status, body = self.server.http("GET", "/v1/conversations", token=self.bob.token)
        self.assertEqual(status, 401, body)
        # Over WebSocket.
        second = self.server.relogin(self.bob, "ws-device")
        c = await self.connect(second)
        self.assertEqual(await c.call("auth.logout"), {})
        status, body = self.server.http("POST", "/v1/auth/refresh", {"refresh_token": second.refresh})
        self.assertEqual(status, 401, body)
        # Logging out needs a token.
        status, body = self.server.http("POST", "/v1/auth/logout")
        self.assertEqual(status, 401, body)
        await self.assert_unchanged()


# ---------------------------------------------------------------------------
# Permissions and privacy
# ---------------------------------------------------------------------------


class PermissionTest(Base):

    async def test_non_member_sees_exactly_what_a_nonexistent_conversation_shows(self):
        carol = self.server.new_user("carol")
        c = await self.connect(carol)
        missing = self.cid + 7_000_000_000  # no conversation has this id
        status, _ = self.server.http("GET", f"/v1/conversations/{missing}", token=self.alice.token)
        self.assertEqual(status, 404)
        requests = [
            ("conversations.get", {}),
            ("conversations.rename", {"title": "mine now"}),
            ("messages.history", {}),
            ("messages.history", {"after": 0, "limit": 5}),
            ("messages.send", {"client_msg_id": "spy", "text": "hello?"}),
            ("messages.send", {"client_msg_id": "first", "text": "first message"}),
            ("messages.send", {"client_msg_id": "spy2", "text": "re", "reply_to": 1}),
            ("messages.read", {"seq": 1}),
            ("members.add", {"user_ids": [carol.id]}),
            ("members.remove", {"user_id": self.bob.id}),
            ("members.remove", {"user_id": carol.id}),
            ("members.leave", {}),
            ("members.set_role", {"user_id": carol.id, "role": "owner"}),
            ("members.set_role", {"user_id": self.bob.id, "role": "admin"}),
        ]
        for method, params in requests:
            real = await c.request(method, conversation_id=self.cid, **params)
            fake = await c.request(method, conversation_id=missing, **params)
            self.assertEqual(real["type"], "error", (method, real))
            self.assertEqual((real["code"], real["message"]), (fake["code"], fake["message"]), method)
            self.assertEqual(real["code"], "not_found", method)
        http_requests = [
            ("GET", "/v1/conversations/{}", None),
            ("PATCH", "/v1/conversations/{}", {"title": "x"}),
            ("GET", "/v1/conversations/{}/messages?limit=5", None),
            ("POST", "/v1/conversations/{}/messages", {"client_msg_id": "spy", "text": "hi"}),
            ("POST", "/v1/conversations/{}/read", {"seq": 1}),
            ("POST", "/v1/conversations/{}/members", {"user_ids": [carol.id]}),
            ("DELETE", "/v1/conversations/{}/members/%d" % self.bob.id, None),
            ("PATCH", "/v1/conversations/{}/members/%d" % self.bob.id, {"role": "admin"}),
        ]
        for verb, path, body in http_requests:
            real = self.server.http(verb, path.format(self.cid), body, token=carol.token)
            fake = self.server.http(verb, path.format(missing), body, token=carol.token)
            self.assertEqual(real, fake, (verb, path))
            self.assertEqual(real[0], 404, (verb, path, real))
        status, listing = self.server.http("GET", "/v1/conversations", token=carol.token)
        self.assertEqual(listing, {"conversations": []})
        await self.assert_unchanged()

    async def test_plain_member_cannot_change_roles(self):
        dave = self.server.new_user("dave")
        status, _ = self.server.http("POST", f"/v1/conversations/{self.cid}/members",
                                     {"user_ids": [dave.id]}, token=self.alice.token)
        self.assertEqual(status, 200)
        self.before = self.snapshot()
        b = await self.connect(self.bob)
        for user_id, role in ((dave.id, "admin"), (self.bob.id, "admin"), (self.bob.id, "owner"),
                              (self.alice.id, "member"), (dave.id, "read_only")):
            frame = await self.expect_error(b, "forbidden", "members.set_role", conversation_id=self.cid,
                                            user_id=user_id, role=role)
            self.assertTrue(frame["message"])
        status, body = self.server.http("PATCH", f"/v1/conversations/{self.cid}/members/{dave.id}",
                                        {"role": "admin"}, token=self.bob.token)
        self.assertEqual((status, h.error_of(body)[0]), (403, "forbidden"))
        conv, _ = self.snapshot()
        self.assertEqual({m["user_id"]: m["role"] for m in conv["members"]},
                         {self.alice.id: "owner", self.bob.id: "member", dave.id: "member"})
        await self.assert_unchanged()

    async def test_taken_handle(self):
        status, body = self.server.register(self.alice.handle, "another password 123")
        self.assertEqual((status, h.error_of(body)[0]), (409, "conflict"), body)
        status, body = self.server.register(self.alice.handle.upper(), "another password 123")
        self.assertEqual((status, h.error_of(body)[0]), (409, "conflict"), body)
        c = await WsClient.connect(self.server)
        self.clients.append(c)
        frame = await c.request("auth.register", handle=self.alice.handle, password="yet another pw")
        self.assertEqual((frame["type"], frame["code"]), ("error", "conflict"))
        # The account is untouched: the original password still logs in as the same user.
        status, login = self.server.login(self.alice.handle, self.alice.password)
        self.assertEqual((status, login["user_id"]), (200, self.alice.id))
        # Other registration mistakes.
        for handle, password in (("ab", "long enough pw"), ("bad handle", "long enough pw"),
                                 ("_under", "long enough pw"), ("x" * 33, "long enough pw"),
                                 ("fine_handle", "short")):
            status, body = self.server.register(handle, password)
            self.assertEqual((status, h.error_of(body)[0]), (400, "bad_request"), (handle, body))
        status, _ = self.server.http("GET", "/v1/users/fine_handle", token=self.alice.token)
        self.assertEqual(status, 404)
        await self.assert_unchanged()


class GroupLimitTest(h.AsyncTestCase):
    timeout = 60

    async def test_member_limit(self):
        server = h.Natterd("--max-group-members", "3", name="members").start()
        try:
            a, b, c, d = [server.new_user("lim") for _ in range(4)]
            ws = await WsClient.connect(server, token=a.token)
            try:
                frame = await ws.error("conversations.create", kind="group", title="big",
                                       members=[b.id, c.id, d.id])
                self.assertEqual(frame["code"], "too_large", frame)
                frame = await ws.error("conversations.create", kind="channel", title="big",
                                       members=[b.id, c.id, d.id, b.id])
                self.assertEqual(frame["code"], "too_large", frame)
                self.assertEqual(await ws.call("conversations.list"), {"conversations": []})
                conv = await ws.call("conversations.create", kind="group", title="ok",
                                     members=[b.id, c.id, c.id, a.id])
                self.assertEqual(len(conv["members"]), 3)
                frame = await ws.error("members.add", conversation_id=conv["id"], user_ids=[d.id])
                self.assertEqual(frame["code"], "too_large", frame)
                again = await ws.call("members.add", conversation_id=conv["id"], user_ids=[b.id])
                self.assertEqual(again["members"], conv["members"])  # re-adding a member is no growth
                self.assertEqual((await ws.call("conversations.get", conversation_id=conv["id"]))["members"],
                                 conv["members"])
            finally:
                await ws.close()
            await assert_still_serving(server, d)
        finally:
            server.close()


# ---------------------------------------------------------------------------
# HTTP and the handshake
# ---------------------------------------------------------------------------


class HandshakeTest(Base):

    async def test_origin_allow_list(self):
        for origin in ("https://evil.example.com", "https://app.example.com.evil.com", "http://app.example.com",
                       "null"):
            status = await h.ws_refused_status(self.server, origin=origin)
            self.assertEqual(status, 403, origin)
        # Refused even with a valid token.
        status = await h.ws_refused_status(self.server, origin="https://evil.example.com",
                                           extra_headers={"Authorization": "Bearer " + self.alice.token})
        self.assertEqual(status, 403)
        r = self.raw(headers={"Origin": "https://evil.example.com"})
        self.assertEqual(r.status, 403)
        for origin in (ALLOWED_ORIGIN, f"http://127.0.0.1:{self.server.port}", None):
            c = await self.connect(origin=origin)
            self.assertEqual(await c.call("ping"), {"pong": True}, origin)
        await self.assert_unchanged()

    def _flood(self, request_line, header_bytes):
        s = socket.create_connection((h.HOST, self.server.port), timeout=10)
        try:
            head = request_line + "\r\nHost: 127.0.0.1\r\n"
            if "/v1/ws" in request_line:
                head += ("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")
            pad = "".join(f"X-Pad-{i}: {'v' * 40}\r\n" for i in range(header_bytes // 50))
            try:
                s.sendall((head + pad + "\r\n").encode())
            except OSError:
                pass  # the server may stop reading and close first
            return h.read_until_closed(s)
        finally:
            s.close()

    async def test_header_flood_refused(self):
        for request_line in ("GET /healthz HTTP/1.1", "GET /v1/ws HTTP/1.1", "POST /v1/auth/login HTTP/1.1"):
            for size in (20_000, 200_000):
                data = self._flood(request_line, size)
                if data:  # an answer, when it arrives before the reset, must be the refusal
                    status_line = data.split(b"\r\n", 1)[0]
                    self.assertIn(b" 413 ", status_line, (request_line, size, data[:200]))
                    self.assertIn(b"too_large", data)
        # One giant header line too.
        data = self._flood("GET /healthz HTTP/1.1\r\nCookie: " + "c" * 100_000, 0)
        if data:
            self.assertIn(b" 413 ", data.split(b"\r\n", 1)[0])
        await self.assert_unchanged()

    async def test_unfinished_handshake_is_dropped(self):
        stalled = socket.create_connection((h.HOST, self.server.port), timeout=10)
        trickle = socket.create_connection((h.HOST, self.server.port), timeout=10)
        silent = socket.create_connection((h.HOST, self.server.port), timeout=10)
        stop = threading.Event()
        try:
            stalled.sendall(b"GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n")

            def drip():
                line = b"GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Slow: " + b"s" * 200
                for byte in line:
                    if stop.wait(0.2):
                        return
                    try:
                        trickle.sendall(bytes([byte]))
                    except OSError:
                        return

            t = threading.Thread(target=drip, daemon=True)
            started = time.monotonic()
            t.start()
            # Meanwhile everyone else is served promptly.
            t0 = time.monotonic()
            await assert_still_serving(self.server)
            self.assertLess(time.monotonic() - t0, 5)
            loop = asyncio.get_running_loop()
            results = await asyncio.gather(*[
                loop.run_in_executor(None, h.socket_closed_within, s, HTTP_TIMEOUT_MS / 1000 + 4)
                for s in (stalled, trickle, silent)])
            for name, took in zip(("stalled", "trickle", "silent"), results):
                self.assertIsNotNone(took, f"{name} handshake still open after the HTTP timeout")
            total = time.monotonic() - started
            self.assertGreater(total, HTTP_TIMEOUT_MS / 1000 * 0.8)
            self.assertLess(total, HTTP_TIMEOUT_MS / 1000 + 4)
        finally:
            stop.set()
            for s in (stalled, trickle, silent):
                s.close()
        await self.assert_unchanged()

    async def test_bad_http_requests(self):
        for raw, status, code in ((b'{"handle": "x", ', 400, "bad_request"), (b"[1,2]", 400, "bad_request"),
                                  (b'"str"', 400, "bad_request")):
            got, body = self.server.http("POST", "/v1/auth/login", raw=raw)
            self.assertEqual((got, h.error_of(body)[0]), (status, code), raw)
        got, body = self.server.http("GET", "/v1/nowhere", token=self.alice.token)
        self.assertEqual((got, h.error_of(body)[0]), (404, "not_found"))
        got, body = self.server.http("GET", "/v1/conversations/abc", token=self.alice.token)
        self.assertEqual((got, h.error_of(body)[0]), (400, "bad_request"))
        got, body = self.server.http("POST", f"/v1/conversations/{self.cid}/messages",
                                     raw=b'{"client_msg_id":"big","text":"' + b"x" * 70_000 + b'"}',
                                     token=self.alice.token)
        self.assertEqual((got, h.error_of(body)[0]), (413, "too_large"))
        got, body = self.server.http("POST", f"/v1/conversations/{self.cid}/messages",
                                     {"client_msg_id": "q", "text": "t"}, token=self.alice.token,
                                     headers={"Authorization": "Basic YWxpY2U6cHc="})
        self.assertEqual((got, h.error_of(body)[0]), (401, "unauthorized"))
        # A WebSocket upgrade on another path, with another protocol version, or a bad key.
        r = self.raw(path="/v1/other")
        self.assertEqual(r.status, 404)
        for headers, expected in ((b"Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", 426),
                                  (b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short", 400)):
            s = socket.create_connection((h.HOST, self.server.port), timeout=5)
            try:
                s.sendall(b"GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                          b"Connection: Upgrade\r\n" + headers + b"\r\n\r\n")
                reply = s.recv(4096)
            finally:
                s.close()
            self.assertTrue(reply.startswith(b"HTTP/1.1 %d " % expected), reply[:80])
        await self.assert_unchanged()


# ---------------------------------------------------------------------------
# Rate limits (servers of their own)
# ---------------------------------------------------------------------------


class RequestRateTest(h.AsyncTestCase):
    timeout = 60
    RATE, BURST = 2, 5

    @classmethod
    def setUpClass(cls):
        cls.server = h.Natterd("--requests-per-second", str(cls.RATE), "--request-burst", str(cls.BURST),
                               name="ratelimit").start()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    async def test_flood_on_one_connection_is_rate_limited(self):
        user = self.server.new_user("rl")
        peer = self.server.new_user("rl")
        x = await WsClient.connect(self.server, token=user.token)
        y = await WsClient.connect(self.server, token=user.token)
        try:
            cid = (await x.call("conversations.create", kind="direct", peer_id=peer.id))["id"]
            started = time.monotonic()
            ids = [await x.send_request("messages.send", conversation_id=cid, client_msg_id=f"f{i}",
                                        text=f"flood {i}") for i in range(20)]
            answers = [await x.answer(rid, 5) for rid in ids]
            elapsed = time.monotonic() - started
            ok = [a for a in answers if a["type"] == "result"]
            limited = [a for a in answers if a["type"] == "error"]
            self.assertTrue(limited, answers)
            for a in limited:
                self.assertEqual(a["code"], "rate_limited", a)
            self.assertGreaterEqual(len(ok), 1)
            self.assertLessEqual(len(ok), self.BURST + self.RATE * elapsed + 1, (len(ok), elapsed))
            # Another connection of the same user has its own allowance.
            self.assertEqual(await y.call("ping"), {"pong": True})
            # Only the accepted sends were stored, densely.
            page = await y.call("messages.history", conversation_id=cid)
            self.assertEqual([m["client_msg_id"] for m in page["messages"]],
                             [a["data"]["client_msg_id"] for a in ok])
            self.assertEqual([m["seq"] for m in page["messages"]], list(range(1, len(ok) + 1)))
            # The limited connection stays open and recovers.
            self.assertFalse(x.closed.is_set())
            await asyncio.sleep(1.5)
            self.assertEqual(await x.call("ping"), {"pong": True})
        finally:
            await x.close()
            await y.close()


class HttpRequestRateTest(h.ServerTestCase):
    """HTTP has the budgets a WebSocket connection has (--requests-per-second
    2, --request-burst 5): per user however many connections it opens, per
    address for requests without a token (and for WebSocket requests before
    `auth`), and typing notices per user. Each case uses addresses of its own."""
    RATE, BURST = 2, 5
    server_args = ("--requests-per-second", str(RATE), "--request-burst", str(BURST))

    def user(self, handle, source):
        password = f"{handle}-secret-pw"
        status, body = self.server.register(handle, password, source=source)
        self.assertEqual(status, 200, body)
        status, body = self.server.login(handle, password, source=source)
        self.assertEqual(status, 200, body)
        return body["user_id"], body["access_token"]

    async def test_sends_over_http_are_limited_per_user(self):
        me, token = self.user("hsender", "127.0.2.1")
        peer, _ = self.user("hpeer", "127.0.2.2")
        status, conv = self.server.http("POST", "/v1/conversations", {"kind": "direct", "peer_id": peer}, token=token)
        self.assertEqual(status, 200, conv)
        started = time.monotonic()
        results = []
        for i in range(20):  # a new connection each time: no socket to hold a budget
            results.append(self.server.http("POST", f"/v1/conversations/{conv['id']}/messages",
                                            {"client_msg_id": f"h{i}", "text": f"over http {i}"}, token=token))
        elapsed = time.monotonic() - started
        accepted = [body for status, body in results if status == 200]
        limited = [(status, body) for status, body in results if status != 200]
        self.assertTrue(limited, results)
        for status, body in limited:
            self.assertEqual((status, h.error_of(body)[0]), (429, "rate_limited"), body)
        # The conversation create took one token of the burst.
        self.assertLessEqual(len(accepted), self.BURST + self.RATE * elapsed, (len(accepted), elapsed))
        # Only the accepted sends were stored.
        await asyncio.sleep(1.0)
        status, page = self.server.http("GET", f"/v1/conversations/{conv['id']}/messages", token=token)
        self.assertEqual(status, 200, page)
        self.assertEqual(sorted(m["client_msg_id"] for m in page["messages"]),
                         sorted(b["client_msg_id"] for b in accepted))

    async def test_requests_without_a_token_are_limited_per_address(self):
        # Refreshes with a made-up token: no login limit is involved, each costs a store read.
        def refresh(source):
            return self.server.http("POST", "/v1/auth/refresh", {"refresh_token": "r" * 43}, source=source)[0]

        results = [refresh("127.0.2.3") for _ in range(12)]
        self.assertEqual(results[:self.BURST], [401] * self.BURST)
        self.assertIn(429, results[self.BURST:])
        # Another address has its own budget.
        self.assertEqual(refresh("127.0.2.4"), 401)
        # A WebSocket opened from the limited address before `auth` pays there too.
        # (Three at once: a token may have refilled meanwhile, not three.)
        raw = RawWebSocket(self.server.port, source="127.0.2.3")
        try:
            for i in range(3):
                raw.send_json({"type": "auth.refresh", "id": i, "refresh_token": "r" * 43})
            codes = [raw.recv_json().get("code") for _ in range(3)]
            self.assertIn("rate_limited", codes)
        finally:
            raw.close()

    async def test_typing_over_http_is_limited_per_user(self):
        me, token = self.user("htyper", "127.0.2.5")
        peer, _ = self.user("htpeer", "127.0.2.6")
        status, conv = self.server.http("POST", "/v1/conversations", {"kind": "direct", "peer_id": peer}, token=token)
        self.assertEqual(status, 200, conv)
        statuses = [self.server.http("POST", f"/v1/conversations/{conv['id']}/typing", token=token)[0]
                    for _ in range(4)]
        self.assertEqual(statuses[:3], [200, 200, 200])  # the typing burst
        self.assertEqual(statuses[3], 429)


class ConversationFloodTest(h.ServerTestCase):
    """Creating conversations and putting people in them are budgeted per user
    per hour (--max-conversations-per-hour 5, --max-member-adds-per-hour 12):
    nobody can bury someone's chats under thousands of groups."""
    server_args = ("--max-conversations-per-hour", "5", "--max-member-adds-per-hour", "12")

    async def test_creating_and_adding_are_limited_per_user(self):
        spammer, victim, other = (self.server.new_user(p) for p in ("spam", "victim", "other"))
        extra = [self.server.new_user("x") for _ in range(8)]
        s = await self.ws(spammer)
        groups = [(await s.call("conversations.create", kind="group", title=f"g{i}", members=[victim.id]))["id"]
                  for i in range(5)]
        frame = await s.error("conversations.create", kind="group", title="g6", members=[victim.id])
        self.assertEqual(frame["code"], "rate_limited", frame)
        self.assertIn("created too many conversations", frame["message"])
        frame = await s.error("conversations.create", kind="direct", peer_id=other.id)
        self.assertEqual(frame["code"], "rate_limited", frame)
        # 5 people put in so far; 7 more fit the 12, the 8th does not.
        added = await s.call("members.add", conversation_id=groups[0], user_ids=[u.id for u in extra[:7]])
        self.assertEqual(len(added["members"]), 9)
        frame = await s.error("members.add", conversation_id=groups[0], user_ids=[extra[7].id])
        self.assertEqual(frame["code"], "rate_limited", frame)
        self.assertIn("too many people", frame["message"])
        # The victim sees the five, and another user has a budget of its own.
        v = await self.ws(victim)
        listed = (await v.call("conversations.list"))["conversations"]
        self.assertEqual(len(listed), 5)
        o = await self.ws(other)
        await o.call("conversations.create", kind="group", title="mine", members=[victim.id])
        # Over HTTP the same budget applies.
        status, body = self.server.http("POST", "/v1/conversations",
                                        {"kind": "group", "title": "g7", "members": [victim.id]}, token=spammer.token)
        self.assertEqual((status, h.error_of(body)[0]), (429, "rate_limited"), body)


    async def test_what_did_not_happen_costs_nothing(self):
        me, peer = self.server.new_user("frugal"), self.server.new_user("peer")
        others = [self.server.new_user("o") for _ in range(3)]
        c = await self.ws(me)
        direct = (await c.call("conversations.create", kind="direct", peer_id=peer.id))["id"]
        # Asking for the same direct chat, adding who is in already, and failed
        # requests: far more than 5 creations and 12 people, none of them real.
        for _ in range(8):
            self.assertEqual((await c.call("conversations.create", kind="direct", peer_id=peer.id))["id"], direct)
        g = (await c.call("conversations.create", kind="group", title="g",
                          members=[peer.id, peer.id, me.id]))["id"]
        for _ in range(8):
            await c.call("members.add", conversation_id=g, user_ids=[peer.id])
            frame = await c.error("members.add", conversation_id=g, user_ids=[123456789012345])
            self.assertEqual(frame["code"], "not_found", frame)
        # 2 created, 2 people put in so far: 3 more groups and 10 people still fit.
        for i in range(3):
            await c.call("conversations.create", kind="group", title=f"h{i}", members=[others[i].id])
        added = await c.call("members.add", conversation_id=g, user_ids=[o.id for o in others])
        self.assertEqual(len(added["members"]), 5)


class LoginThrottleTest(h.AsyncTestCase):
    """--max-login-failures 3. Distinct loopback source addresses stand for
    distinct clients (the throttle counts per account and per address)."""
    timeout = 60
    MAX = 3

    @classmethod
    def setUpClass(cls):
        cls.server = h.Natterd("--max-login-failures", str(cls.MAX), name="throttle").start()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def register(self, handle):
        password = f"{handle}-right-password"
        status, body = self.server.register(handle, password)
        self.assertEqual(status, 200, body)
        return password

    def fail_logins(self, handle, source):
        for i in range(self.MAX):
            status, body = self.server.login(handle, f"wrong-{i}-password", source=source)
            self.assertEqual((status, h.error_of(body)[0]), (401, "unauthorized"), body)

    async def test_account_locked_after_failures_even_with_right_password(self):
        dave_pw, erin_pw = self.register("dave"), self.register("erin")
        self.fail_logins("dave", "127.0.0.1")
        status, body = self.server.login("dave", dave_pw, source="127.0.0.1")
        self.assertEqual((status, h.error_of(body)[0]), (429, "rate_limited"), body)
        # Per account: from another address too.
        status, body = self.server.login("dave", dave_pw, source="127.0.0.2")
        self.assertEqual((status, h.error_of(body)[0]), (429, "rate_limited"), body)
        # Per address: the failing address may not try other accounts either...
        status, body = self.server.login("erin", erin_pw, source="127.0.0.1")
        self.assertEqual((status, h.error_of(body)[0]), (429, "rate_limited"), body)
        # ...while other accounts from other addresses are unaffected.
        status, body = self.server.login("erin", erin_pw, source="127.0.0.2")
        self.assertEqual(status, 200, body)
        # WebSocket logins obey the same lock.
        c = await WsClient.connect(self.server)
        try:
            frame = await c.request("auth.login", handle="dave", password=dave_pw)
            self.assertEqual((frame["type"], frame["code"]), ("error", "rate_limited"), frame)
        finally:
            await c.close()

    async def test_lock_cannot_be_dodged_by_changing_the_handle_case(self):
        # Handles are case-insensitive ("Frank" logs in as frank), so the lock
        # on an account must be too.
        frank_pw = self.register("frank")
        status, body = self.server.login("FRANK", frank_pw, source="127.0.0.3")
        self.assertEqual(status, 200, body)  # same account
        self.fail_logins("frank", "127.0.0.4")
        status, body = self.server.login("frank", frank_pw, source="127.0.0.5")
        self.assertEqual((status, h.error_of(body)[0]), (429, "rate_limited"), body)
        for variant in ("Frank", "FRANK", "fRaNk"):
            status, body = self.server.login(variant, frank_pw, source="127.0.0.5")
            self.assertEqual((status, h.error_of(body)[0]), (429, "rate_limited"),
                             f"login as {variant!r} with the right password while 'frank' is locked: "
                             f"{status}, user_id {body.get('user_id') if isinstance(body, dict) else body}")
        # Nor by guessing under other spellings: failures count against the one account.
        for i, variant in enumerate(("Frank", "FRANK", "fRaNk")):
            status, body = self.server.login(variant, f"guess-{i}-password", source=f"127.0.0.{6 + i}")
            self.assertEqual(status, 429, f"a guess as {variant!r} was checked while 'frank' is locked")


class TrustedProxyAddressTest(h.AsyncTestCase):
    """Behind a trusted proxy (here 127.0.0.9) the client's address comes from
    X-Forwarded-For; from anyone else the header changes nothing."""
    timeout = 60
    MAX = 2

    @classmethod
    def setUpClass(cls):
        cls.server = h.Natterd("--max-login-failures", str(cls.MAX), "--trusted-proxies", "127.0.0.9",
                               name="proxied").start()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def login(self, handle, password, source, forwarded):
        return self.server.login(handle, password, source=source, headers={"X-Forwarded-For": forwarded})

    async def test_clients_behind_the_proxy_are_limited_apart(self):
        status, body = self.server.register("gina", "gina-right-password")
        self.assertEqual(status, 200, body)
        # One client behind the proxy fails on accounts that do not exist...
        for i in range(self.MAX):
            status, body = self.login(f"nobody{i}", "wrong-password", "127.0.0.9", "198.51.100.7")
            self.assertEqual(status, 401, body)
        status, body = self.login("gina", "gina-right-password", "127.0.0.9", "198.51.100.7")
        self.assertEqual((status, h.error_of(body)[0]), (429, "rate_limited"), body)
        # ...and another client behind the same proxy still logs in.
        status, body = self.login("gina", "gina-right-password", "127.0.0.9", "203.0.113.5")
        self.assertEqual(status, 200, body)

    async def test_a_client_cannot_choose_its_address_with_its_own_header_field(self):
        status, body = self.server.register("ivy", "ivy-right-password")
        self.assertEqual(status, 200, body)
        for i in range(self.MAX):
            status, body = self.login(f"nothere{i}", "wrong-password", "127.0.0.9", "198.51.100.50")
            self.assertEqual(status, 401, body)
        # The client sends its own X-Forwarded-For; the proxy adds another field
        # with the address it saw (HAProxy's option forwardfor does exactly this).
        conn = h.http.client.HTTPConnection(h.HOST, self.server.port, timeout=10, source_address=("127.0.0.9", 0))
        try:
            data = h.json.dumps({"handle": "ivy", "password": "ivy-right-password", "device": "t"}).encode()
            conn.putrequest("POST", "/v1/auth/login")
            conn.putheader("Content-Type", "application/json")
            conn.putheader("Content-Length", str(len(data)))
            conn.putheader("X-Forwarded-For", "203.0.113.77")
            conn.putheader("X-Forwarded-For", "198.51.100.50")
            conn.endheaders(data)
            resp = conn.getresponse()
            status, body = resp.status, resp.read()
        finally:
            conn.close()
        self.assertEqual(status, 429, body)

    async def test_an_untrusted_peer_cannot_choose_its_address(self):
        status, body = self.server.register("hank", "hank-right-password")
        self.assertEqual(status, 200, body)
        for i in range(self.MAX):
            status, body = self.login(f"noone{i}", "wrong-password", "127.0.0.10", f"192.0.2.{i}")
            self.assertEqual(status, 401, body)
        # A new forwarded address does not help: the peer itself is limited.
        status, body = self.login("hank", "hank-right-password", "127.0.0.10", "192.0.2.200")
        self.assertEqual((status, h.error_of(body)[0]), (429, "rate_limited"), body)


if __name__ == "__main__":
    h.main()
