"""An access token is only as good as its session: a correctly signed token for
a user or session that does not exist is refused when it authenticates, and a
logged-out session stays logged out across a restart, on HTTP, on the
WebSocket upgrade and on an `auth` frame."""

import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import natter_harness as h  # noqa: E402
from natter_harness import WsClient  # noqa: E402


class SessionCheckTest(h.ServerTestCase):
    timeout = 90

    async def assert_refused_everywhere(self, token, what):
        status, body = self.server.http("GET", "/v1/conversations", token=token)
        self.assertEqual((status, h.error_of(body)[0]), (401, "unauthorized"), (what, body))
        self.assertEqual(await h.ws_refused_status(self.server, extra_headers={"Authorization": "Bearer " + token}),
                         401, what)
        c = await WsClient.connect(self.server)
        self.clients.append(c)
        await c.send_json({"type": "auth", "id": 1, "token": token})
        code, _ = await c.wait_closed(5)
        self.assertEqual(code, 4001, what)
        self.assertFalse([f for f in c.all_frames if f.get("type") == "result"], what)

    async def test_signed_token_for_a_user_or_session_that_does_not_exist_is_refused(self):
        user = self.server.new_user("real")
        kid, secret = h.read_signing_key(self.server)
        header, claims = h.decode_token(user.token)
        forged = {
            # Signed with the server's own key: only the store can tell.
            "no such user": dict(claims, sub="4242424242"),
            "no such session": dict(claims, sid=4343434343),
        }
        for what, payload in forged.items():
            await self.assert_refused_everywhere(h.forge_token(header, payload, secret), what)
        # Another user's session with this user's id is refused too.
        other = self.server.new_user("other")
        _, other_claims = h.decode_token(other.token)
        await self.assert_refused_everywhere(h.forge_token(header, dict(claims, sid=other_claims["sid"]), secret),
                                             "someone else's session")
        # Nothing was written for any of them: the real user still works.
        status, body = self.server.http("GET", "/v1/conversations", token=user.token)
        self.assertEqual(status, 200, body)

    async def test_requests_pipelined_behind_an_auth_frame_are_served_as_its_user(self):
        user = self.server.new_user("pipe")
        c = await WsClient.connect(self.server)
        self.clients.append(c)
        await c.send_json({"type": "auth", "id": 1, "token": user.token})
        await c.send_json({"type": "conversations.list", "id": 2})
        deadline = time.monotonic() + 5
        answers = []
        while time.monotonic() < deadline and len(answers) < 2:
            await asyncio.sleep(0.02)
            answers = [f for f in c.all_frames if f.get("id") in (1, 2)]
        self.assertEqual([(f.get("id"), f.get("type")) for f in answers], [(1, "result"), (2, "result")], answers)

    async def test_logout_survives_a_restart(self):
        user = self.server.new_user("leaver")
        second = self.server.relogin(user, "other-device")
        status, body = self.server.http("POST", "/v1/auth/logout", token=user.token)
        self.assertEqual(status, 200, body)
        self.server.restart()
        # The logged-out session's token is still within its lifetime, and the
        # restarted node remembers nothing of the logout but the store.
        await self.assert_refused_everywhere(user.token, "logged out before the restart")
        # The other device's session is untouched.
        status, body = self.server.http("GET", "/v1/conversations", token=second.token)
        self.assertEqual(status, 200, body)


if __name__ == "__main__":
    h.main()
