"""Bots (docs/admin.md "Bots"): an admin makes a bot and gets its token once;
the bot exchanges it for access tokens (auth.bot), is added to groups without
an invitation, reads and answers over the WebSocket; it has no password;
rotating its token ends the old one and closes its sockets; ending its
sessions or suspending it leaves the token; forged tokens are refused; the
token survives a restart; every call is audited."""
import os

import natter_harness as h


class Bots(h.ServerTestCase):
    server_args = ("--admins", "boss")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.boss = cls.server.named_user("boss")

    def make_bot(self, handle, **extra):
        bot = self.call("POST", "/admin/v1/bots", self.boss, {"handle": handle, **extra})
        self.assertTrue(bot["bot"])
        self.assertTrue(bot["token"].startswith("nb_"))
        return bot

    def bot_login(self, token, expect=200):
        status, body = self.server.http("POST", "/v1/auth/bot", {"token": token})
        self.assertEqual(status, expect, body)
        return body

    def as_user(self, bot, login):
        return h.User(bot["handle"], None, bot["user_id"], {**login, "refresh_token": ""})

    async def test_a_bot_is_added_without_asking_and_answers_over_the_websocket(self):
        made = self.make_bot("helper", display_name="Help desk")
        login = self.bot_login(made["token"])
        self.assertEqual(login["user_id"], made["user_id"])
        self.assertNotIn("refresh_token", login)
        bot = self.as_user(made, login)
        alice = self.server.new_user("botfan")
        shown = self.call("GET", f"/v1/users/{made['user_id']}", alice)
        self.assertEqual((shown["handle"], shown["bot"], shown["display_name"]), ("helper", True, "Help desk"))

        # The server's default asks strangers first; a bot is never asked.
        g = self.call("POST", "/v1/conversations", alice, {"kind": "group", "title": "help", "members": [bot.id]})
        self.assertEqual(sorted(m["user_id"] for m in g["members"]), sorted([alice.id, bot.id]), g)
        bots = await self.ws(bot)
        self.call("POST", f"/v1/conversations/{g['id']}/messages", alice,
                  {"client_msg_id": "q1", "text": "how do I reset my password?"})
        question = await bots.wait_for(lambda f: f.get("type") == "message" and
                                       f["message"]["conversation_id"] == g["id"])
        self.assertEqual(question["message"]["sender_id"], alice.id)
        await bots.call("messages.send", conversation_id=g["id"], client_msg_id="a1", text="Settings, then Account.")
        page = self.call("GET", f"/v1/conversations/{g['id']}/messages?limit=10", alice)
        self.assertEqual([m["text"] for m in page["messages"] if m["kind"] == "message"][-1], "Settings, then Account.")

    async def test_a_bot_has_no_password_and_only_admins_make_bots(self):
        made = self.make_bot("nopass")
        status, body = self.server.login("nopass", "any password at all")
        self.assertEqual(status, 401, body)
        self.call("PUT", f"/admin/v1/users/{made['user_id']}/password", self.boss,
                  {"password": "a new long password"}, expect=409)
        plain = self.server.new_user("plain")
        self.call("POST", "/admin/v1/bots", plain, {"handle": "sneaky"}, expect=403)
        self.call("POST", "/admin/v1/bots", None, {"handle": "sneaky"}, expect=401)
        self.call("POST", "/admin/v1/bots", self.boss, {"handle": "nopass"}, expect=409)  # taken
        self.call("POST", "/admin/v1/bots", self.boss, {"handle": "boss"}, expect=409)  # an operator's
        self.call("POST", "/admin/v1/bots", self.boss, {"handle": "bad handle!"}, expect=400)
        self.call("POST", f"/admin/v1/bots/{plain.id}/token", self.boss, expect=409)  # a person
        self.call("POST", "/admin/v1/bots/12345/token", self.boss, expect=404)

    async def test_forged_and_malformed_tokens_are_refused(self):
        made = self.make_bot("forged")
        for token in ["", "nb_", "nb_" + "A" * 43, made["token"][:-1] + ("A" if made["token"][-1] != "A" else "B"),
                      made["token"][3:], "nb_" + "x" * 500, "Bearer " + made["token"]]:
            status, body = self.server.http("POST", "/v1/auth/bot", {"token": token})
            self.assertIn(status, (400, 401), (token, body))
        status, body = self.server.http("POST", "/v1/auth/bot", {"token": 42})
        self.assertEqual(status, 400, body)
        self.bot_login(made["token"])  # the real one still works

    async def test_rotating_ends_the_old_token_and_closes_the_bots_sockets(self):
        made = self.make_bot("rotor")
        bot = self.as_user(made, self.bot_login(made["token"]))
        socket = await self.ws(bot)
        rotated = self.call("POST", f"/admin/v1/bots/{made['user_id']}/token", self.boss)
        self.assertNotEqual(rotated["token"], made["token"])
        self.assertEqual((await socket.wait_closed(timeout=5))[0], 4001)
        self.bot_login(made["token"], expect=401)
        fresh = self.as_user(made, self.bot_login(rotated["token"]))
        self.call("GET", "/v1/conversations", fresh)
        self.call("GET", "/v1/conversations", bot, expect=401)

    async def test_ending_sessions_or_suspending_leaves_the_token(self):
        made = self.make_bot("sturdy")
        bot = self.as_user(made, self.bot_login(made["token"]))
        self.call("POST", f"/admin/v1/users/{made['user_id']}/revoke-sessions", self.boss)
        self.call("GET", "/v1/conversations", bot, expect=401)
        again = self.as_user(made, self.bot_login(made["token"]))
        self.call("GET", "/v1/conversations", again)
        self.call("POST", f"/admin/v1/users/{made['user_id']}/suspend", self.boss, {"reason": "misbehaved"})
        self.bot_login(made["token"], expect=403)
        self.call("DELETE", f"/admin/v1/users/{made['user_id']}/suspend", self.boss)
        self.bot_login(made["token"])

    async def test_an_erased_bots_token_opens_nothing(self):
        made = self.make_bot("doomed")
        bot = self.as_user(made, self.bot_login(made["token"]))
        self.call("DELETE", f"/admin/v1/users/{made['user_id']}", self.boss)
        self.bot_login(made["token"], expect=401)
        self.call("GET", "/v1/conversations", bot, expect=401)
        shown = self.call("GET", f"/v1/users/{made['user_id']}", self.boss)
        self.assertEqual((shown.get("erased"), shown.get("bot")), (True, None))

    async def test_the_token_survives_a_restart_and_every_call_is_audited(self):
        made = self.make_bot("durable")
        self.server.restart()
        login = self.bot_login(made["token"])
        self.assertEqual(login["user_id"], made["user_id"])
        boss = self.server.relogin(self.boss)
        made_lines = self.call("GET", "/admin/v1/audit?action=admin.bots.create&limit=100", boss)["entries"]
        self.assertIn("durable", [e["detail"].get("handle") for e in made_lines])
        signed_in = self.call("GET", f"/admin/v1/audit?target={made['user_id']}&limit=20", boss)["entries"]
        self.assertIn("auth.bot", [e["action"] for e in signed_in])
        self.assertNotIn(made["token"], str(made_lines + signed_in))
        type(self).boss = boss


if __name__ == "__main__":
    h.main()
