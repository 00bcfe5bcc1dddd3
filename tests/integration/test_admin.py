"""The admin API: server roles from the configuration and the store, user
search, suspension (sockets close at once, tokens and logins stop), session
revocation, password resets, deleting any message, and an audit log that holds
every operator call and every sign-in."""
import asyncio
import os

import natter_harness as h


class Admin(h.ServerTestCase):
    server_args = ("--admins", "Root", "--moderators", "moddy")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = cls.server.named_user("root")
        cls.moddy = cls.server.named_user("moddy")

    def call(self, method, path, user, body=None, expect=200):
        status, answer = self.server.http(method, path, body, token=user.token if user else None)
        self.assertEqual(status, expect, answer)
        return answer

    def audit(self, **query):
        q = "&".join(f"{k}={v}" for k, v in query.items())
        return self.call("GET", f"/admin/v1/audit?{q}", self.root)["entries"]

    async def test_roles_gate_the_admin_api(self):
        plain = self.server.new_user("plain")
        self.call("GET", "/admin/v1/users", None, expect=401)
        answer = self.call("GET", "/admin/v1/users", plain, expect=403)
        self.assertEqual(h.error_of(answer)[0], "forbidden")
        found = self.call("GET", f"/admin/v1/users?query={plain.handle.upper()}", self.moddy)["users"]
        self.assertEqual([(u["user_id"], u["server_role"], u["suspended"]) for u in found],
                         [(plain.id, "none", False)])
        answer = self.call("GET", "/admin/v1/audit", self.moddy, expect=403)
        self.assertIn("needs the server role admin", h.error_of(answer)[1])
        self.call("POST", f"/admin/v1/users/{plain.id}/suspend", self.moddy, expect=403)
        # A role given through the API works at once and goes as quickly.
        self.assertEqual(self.call("PUT", f"/admin/v1/users/{plain.id}/role", self.root, {"role": "moderator"}),
                         {"user_id": plain.id, "server_role": "moderator"})
        self.call("GET", "/admin/v1/users", plain)
        self.call("PUT", f"/admin/v1/users/{plain.id}/role", self.root, {"role": "none"})
        self.call("GET", "/admin/v1/users", plain, expect=403)
        self.call("PUT", f"/admin/v1/users/{plain.id}/role", self.root, {"role": "root"}, expect=400)
        # Handles named before they had an account were warned of at start.
        self.assertIn("--admins names 'Root', which has no account", self.server.log_text())
        self.assertIn("--moderators names 'moddy', which has no account", self.server.log_text())
        # Configured roles show as such, whatever the case of the handle.
        me = self.call("GET", f"/admin/v1/users/{self.root.id}", self.root)
        self.assertEqual((me["server_role"], me["handle"]), ("admin", "root"))
        # Not on the chat socket.
        ws = await self.ws(self.root)
        frame = await ws.error("admin.users.list")
        self.assertEqual(frame["code"], "bad_request")
        self.assertIn("HTTP only", frame["message"])
        # The refusals are on record too, with who tried.
        refused = self.audit(actor=plain.id, action="admin.users.list")
        self.assertEqual([e["outcome"] for e in refused], ["forbidden", "ok", "forbidden"])
        self.assertEqual(self.audit(actor=self.moddy.id, action="admin.users.suspend")[0]["outcome"], "forbidden")

    async def test_suspension_ends_every_session_at_once(self):
        victim = self.server.new_user("victim")
        phone, tablet = await self.ws(victim), await self.ws(self.server.relogin(victim, "tablet"))
        answer = self.call("POST", f"/admin/v1/users/{victim.id}/suspend", self.root, {"reason": "spam"})
        self.assertEqual(answer, {"user_id": victim.id, "suspended": True, "sessions_ended": 2})
        for ws in (phone, tablet):
            code, reason = await ws.wait_closed(timeout=5)
            self.assertEqual((code, reason), (4001, "session ended"))
        self.call("GET", "/v1/conversations", victim, expect=401)
        status, body = self.server.login(victim.handle, victim.password)
        self.assertEqual((status, h.error_of(body)), (403, ("forbidden", "this account is suspended")))
        status, _ = self.server.http("POST", "/v1/auth/refresh", {"refresh_token": victim.refresh})
        self.assertEqual(status, 401)
        shown = self.call("GET", f"/admin/v1/users/{victim.id}", self.root)
        self.assertTrue(shown["suspended"])
        self.assertTrue(all(s["revoked"] for s in shown["sessions"]))
        self.assertEqual(len(shown["sessions"]), 2)
        self.call("POST", f"/admin/v1/users/{self.root.id}/suspend", self.root, expect=400)
        self.call("POST", "/admin/v1/users/123456789/suspend", self.root, expect=404)
        # Lifted, they log in again.
        self.call("DELETE", f"/admin/v1/users/{victim.id}/suspend", self.root)
        status, _ = self.server.login(victim.handle, victim.password)
        self.assertEqual(status, 200)
        entry = self.audit(target=victim.id, action="admin.users.suspend")[1]
        self.assertEqual((entry["actor"], entry["detail"]["reason"], entry["outcome"]), (self.root.id, "spam", "ok"))

    async def test_sessions_and_passwords(self):
        user = self.server.new_user("pw")
        ws = await self.ws(user)
        answer = self.call("POST", f"/admin/v1/users/{user.id}/revoke-sessions", self.root)
        self.assertEqual(answer, {"user_id": user.id, "sessions_ended": 1})
        self.assertEqual((await ws.wait_closed(timeout=5))[0], 4001)
        again = self.server.relogin(user)  # not suspended: they may log in
        self.call("PUT", f"/admin/v1/users/{user.id}/password", self.root, {"password": "short"}, expect=400)
        answer = self.call("PUT", f"/admin/v1/users/{user.id}/password", self.root,
                           {"password": "a-new-long-password"})
        self.assertEqual(answer, {"user_id": user.id, "password_reset": True, "sessions_ended": 1})
        self.call("GET", "/v1/conversations", again, expect=401)
        self.assertEqual(self.server.login(user.handle, user.password)[0], 401)
        self.assertEqual(self.server.login(user.handle, "a-new-long-password")[0], 200)
        # The password itself is never written down.
        entry = self.audit(target=user.id, action="admin.users.reset_password")[0]
        self.assertNotIn("password", entry["detail"])
        self.assertNotIn("a-new-long-password", str(self.audit(target=user.id)))

    async def test_a_moderator_deletes_any_message(self):
        alice, bob = self.server.new_user("mod"), self.server.new_user("mod")
        g = self.call("POST", "/v1/conversations", alice, {"kind": "group", "members": [bob.id]})["id"]
        sent = self.call("POST", f"/v1/conversations/{g}/messages", bob,
                         {"client_msg_id": os.urandom(4).hex(), "text": "something awful"})
        A = await self.ws(alice)
        self.call("DELETE", f"/v1/conversations/{g}/messages/{sent['seq']}", self.moddy, expect=404)
        event = self.call("DELETE", f"/admin/v1/conversations/{g}/messages/{sent['seq']}", self.moddy)
        self.assertEqual((event["kind"], event["target_seq"], event["sender_id"]), ("delete", sent["seq"], self.moddy.id))
        live = await A.event("message", predicate=lambda f: f["message"]["kind"] == "delete")
        self.assertEqual(live["message"]["target_seq"], sent["seq"])
        history = self.call("GET", f"/v1/conversations/{g}/messages", alice)["messages"]
        gone = [m for m in history if m["seq"] == sent["seq"]][0]
        self.assertTrue(gone["deleted"])
        self.assertNotIn("something awful", str(history))
        self.call("DELETE", f"/admin/v1/conversations/{g}/messages/{sent['seq']}", self.moddy, expect=404)

    def test_sign_ins_are_audited(self):
        user = self.server.new_user("audited")
        self.assertEqual(self.server.login(user.handle, "wrong-password")[0], 401)
        entries = self.audit(target=user.id)
        self.assertEqual([(e["action"], e["outcome"]) for e in entries][-3:],
                         [("auth.login", "unauthorized"), ("auth.login", "ok"), ("auth.register", "ok")])
        self.assertEqual(entries[-2]["detail"]["handle"], user.handle)
        self.assertEqual(entries[-2]["address"], "127.0.0.1")
        self.assertNotIn("wrong-password", str(entries))
        # Pages: newest first, `next` goes on below.
        first = self.call("GET", f"/admin/v1/audit?target={user.id}&limit=2", self.root)
        rest = self.audit(target=user.id, before=first["next"])
        self.assertEqual([e["id"] for e in first["entries"] + rest], [e["id"] for e in entries])

    def test_user_search_pages(self):
        made = [self.server.new_user("zeta") for _ in range(3)]
        first = self.call("GET", "/admin/v1/users?query=zeta&limit=2", self.moddy)
        self.assertEqual(len(first["users"]), 2)
        rest = self.call("GET", f"/admin/v1/users?query=zeta&after={first['next']}", self.moddy)
        self.assertEqual([u["user_id"] for u in first["users"] + rest["users"]], [u.id for u in made])
        self.assertEqual(self.call("GET", "/admin/v1/users?query=no-such-name", self.moddy)["users"], [])


if __name__ == "__main__":
    h.main()
