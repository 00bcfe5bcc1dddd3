"""Registration modes: open (the default), by invite code (made by admins,
each good for a number of uses until it expires, kept only as a hash), and
closed (accounts made by admins); a handle --admins names may register in
any mode, which is how a closed server gets its first admin."""
import time

import natter_harness as h


class Base(h.ServerTestCase):
    def register(self, handle, password, invite_code=None):
        body = {"handle": handle, "password": password}
        if invite_code is not None:
            body["invite_code"] = invite_code
        return self.server.http("POST", "/v1/auth/register", body)

    def root(self):
        status, body = self.register("root", "pw-root-secret")
        if status == 200:
            self.__class__.root_id = body["user_id"]
        status, login = self.server.login("root", "pw-root-secret")
        self.assertEqual(status, 200, login)
        return h.User("root", "pw-root-secret", login["user_id"], login)

    def call(self, method, path, user, body=None, expect=200):
        status, answer = self.server.http(method, path, body, token=user.token)
        self.assertEqual(status, expect, answer)
        return answer


class ByInvitation(Base):
    server_args = ("--registration", "invite", "--admins", "root")

    def test_an_invite_code_admits_as_many_as_it_allows(self):
        root = self.root()
        status, body = self.register("nocode", "pw-nocode-secret")
        self.assertEqual((status, h.error_of(body)),
                         (403, ("forbidden", "registration is by invitation: give an invite_code")))
        made = self.call("POST", "/admin/v1/invite-codes", root, {"uses": 2})
        code = made["code"]
        self.assertEqual((made["uses_left"], made["hint"], made["created_by"]), (2, code[:4], root.id))
        self.assertGreater(made["expires_at"], made["created_at"])  # a week by default
        status, body = self.register("guess", "pw-guess-secret", invite_code="not-a-code")
        self.assertEqual((status, h.error_of(body)[0]), (403, "forbidden"))
        for who in ("first", "second"):
            status, body = self.register(who, f"pw-{who}-secret", invite_code=code)
            self.assertEqual(status, 200, body)
        status, body = self.register("third", "pw-third-secret", invite_code=code)
        self.assertIn("used up or expired", h.error_of(body)[1])
        # A refused registration uses nothing: a taken handle leaves the use.
        spare = self.call("POST", "/admin/v1/invite-codes", root, {"uses": 1, "expires_in_s": 0})
        self.assertEqual(spare["expires_at"], 0)
        self.assertEqual(self.register("first", "pw-first-secret", invite_code=spare["code"])[0], 409)
        self.assertEqual(self.register("fourth", "pw-fourth-secret", invite_code=spare["code"])[0], 200)
        listed = {c["invite_id"]: c for c in self.call("GET", "/admin/v1/invite-codes", root)["invite_codes"]}
        self.assertEqual(listed[made["invite_id"]]["uses_left"], 0)
        self.assertNotIn("code", listed[made["invite_id"]])  # shown once, at creation
        self.assertNotIn(code, str(listed))
        self.call("DELETE", f"/admin/v1/invite-codes/{made['invite_id']}", root)
        self.call("DELETE", f"/admin/v1/invite-codes/{made['invite_id']}", root, expect=404)
        entry = self.call("GET", "/admin/v1/audit?action=auth.register", root)["entries"]
        self.assertIn({"invite_code": code[:4]}, [e["detail"] for e in entry])
        self.assertNotIn(code, str(entry))

    def test_a_code_expires(self):
        root = self.root()
        made = self.call("POST", "/admin/v1/invite-codes", root, {"expires_in_s": 1})
        time.sleep(1.2)
        status, _ = self.register("late", "pw-late-secret", invite_code=made["code"])
        self.assertEqual(status, 403)
        self.call("POST", "/admin/v1/invite-codes", root, {"uses": 0}, expect=400)


class Closed(Base):
    server_args = ("--registration", "closed", "--admins", "root")

    def test_only_admins_make_accounts(self):
        root = self.root()  # named in --admins: the way in
        status, body = self.register("walkin", "pw-walkin-secret")
        self.assertEqual((status, h.error_of(body)[1]),
                         (403, "registration is closed: accounts are made by the server's operators"))
        made = self.call("POST", "/admin/v1/users", root, {"handle": "staff", "password": "pw-staff-secret"})
        self.assertEqual(made["handle"], "staff")
        self.assertEqual(self.server.login("staff", "pw-staff-secret")[0], 200)
        self.call("POST", "/admin/v1/users", root, {"handle": "staff", "password": "pw-staff-secret"}, expect=409)
        entry = self.call("GET", f"/admin/v1/audit?action=auth.register&target={made['user_id']}", root)["entries"]
        self.assertEqual(entry[0]["actor"], root.id)  # made by the admin, not by themselves


if __name__ == "__main__":
    h.main()
