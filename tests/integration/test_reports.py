"""Reports: a member reports a message (kept as it was, for the moderators) or
a user; the same report twice is one; moderators list the queue and resolve
each report by dismissing it, deleting the message or (admins) suspending the
user; a report is resolved once."""
import os

import natter_harness as h


class Reports(h.ServerTestCase):
    server_args = ("--admins", "boss", "--moderators", "mod", "--max-reports-per-hour", "6")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.boss = cls.server.named_user("boss")
        cls.mod = cls.server.named_user("mod")

    def call(self, method, path, user, body=None, expect=200):
        status, answer = self.server.http(method, path, body, token=user.token)
        self.assertEqual(status, expect, answer)
        return answer

    def report(self, user, expect=200, **body):
        return self.call("POST", "/v1/reports", user, body, expect)

    def queue(self, state="open"):
        return {r["report_id"]: r for r in self.call("GET", f"/admin/v1/reports?state={state}", self.mod)["reports"]}

    def resolve(self, user, report_id, action, note="", expect=200):
        return self.call("POST", f"/admin/v1/reports/{report_id}/resolve", user, {"action": action, "note": note},
                         expect)

    async def test_a_reported_message_is_deleted_by_a_moderator(self):
        alice, spammer, outsider = (self.server.new_user("rep") for _ in range(3))
        g = self.call("POST", "/v1/conversations", alice, {"kind": "group", "members": [spammer.id]})["id"]
        spam = self.call("POST", f"/v1/conversations/{g}/messages", spammer,
                         {"client_msg_id": os.urandom(4).hex(), "text": "buy crypto now"})
        filed = self.report(alice, conversation_id=g, seq=spam["seq"], reason="spam", text="again and again")
        self.assertEqual((filed["state"], filed["duplicate"]), ("open", False))
        again = self.report(alice, conversation_id=g, seq=spam["seq"], reason="spam")
        self.assertEqual((again["report_id"], again["duplicate"]), (filed["report_id"], True))
        # Only who can see a message may report it.
        self.report(outsider, conversation_id=g, seq=spam["seq"], reason="spam", expect=404)
        self.report(spammer, conversation_id=g, seq=spam["seq"], reason="spam", expect=400)  # their own
        queued = self.queue()[filed["report_id"]]
        self.assertEqual((queued["reporter"], queued["user_id"], queued["conversation_id"], queued["seq"]),
                         (alice.id, spammer.id, g, spam["seq"]))
        self.assertEqual((queued["message_text"], queued["text"], queued["reason"]),
                         ("buy crypto now", "again and again", "spam"))
        self.call("GET", "/admin/v1/reports", alice, expect=403)
        A = await self.ws(alice)
        done = self.resolve(self.mod, filed["report_id"], "delete_message", "spam link")
        self.assertEqual((done["state"], done["resolution"], done["resolved_by"], done["note"]),
                         ("resolved", "message_deleted", self.mod.id, "spam link"))
        event = await A.event("message", predicate=lambda f: f["message"]["kind"] == "delete")
        self.assertEqual(event["message"]["target_seq"], spam["seq"])
        history = self.call("GET", f"/v1/conversations/{g}/messages", alice)["messages"]
        self.assertNotIn("buy crypto now", str(history))
        self.resolve(self.mod, filed["report_id"], "dismiss", expect=409)
        self.assertNotIn(filed["report_id"], self.queue())
        self.assertEqual(self.queue("all")[filed["report_id"]]["message_text"], "buy crypto now")  # the evidence stays
        self.assertEqual(self.call("GET", "/admin/v1/audit?action=admin.reports.resolve", self.boss)["entries"][0]
                         ["detail"]["report_id"], filed["report_id"])

    def test_a_reported_user_is_suspended_by_an_admin(self):
        alice, troll = self.server.new_user("usr"), self.server.new_user("usr")
        filed = self.report(alice, user_id=troll.id, reason="harassment")
        self.assertEqual(h.error_of(self.resolve(self.mod, filed["report_id"], "suspend_user", expect=403))[1],
                         "suspending a user needs the server role admin")
        self.resolve(self.mod, filed["report_id"], "delete_message", expect=400)  # no message to delete
        done = self.resolve(self.boss, filed["report_id"], "suspend_user", "threats")
        self.assertEqual(done["resolution"], "user_suspended")
        self.assertEqual(self.server.login(troll.handle, troll.password)[0], 403)
        # Dismissing closes without acting.
        other = self.server.new_user("usr")
        filed = self.report(alice, user_id=other.id, reason="other", text="not sure")
        self.assertEqual(self.resolve(self.mod, filed["report_id"], "dismiss")["resolution"], "dismissed")
        self.assertEqual(self.server.login(other.handle, other.password)[0], 200)

    def test_bad_reports_and_the_hourly_budget(self):
        alice, bob = self.server.new_user("bad"), self.server.new_user("bad")
        self.report(alice, user_id=alice.id, reason="spam", expect=400)
        self.report(alice, user_id=123456789, reason="spam", expect=404)
        self.report(alice, user_id=bob.id, reason="boring", expect=400)
        self.report(alice, user_id=bob.id, conversation_id=1, seq=1, reason="spam", expect=400)
        self.report(alice, reason="spam", expect=400)
        self.report(alice, user_id=bob.id, reason="spam", text="x" * 1001, expect=413)
        # Two above reached the budget (refused by what they named); four more fit in six.
        for _ in range(4):
            self.report(alice, user_id=self.server.new_user("bad").id, reason="spam")
        answer = self.report(alice, user_id=bob.id, reason="spam", expect=429)
        self.assertEqual(h.error_of(answer)[0], "rate_limited")
        self.resolve(self.mod, 987654321, "dismiss", expect=404)
        self.resolve(self.mod, 1, "ban", expect=400)


if __name__ == "__main__":
    h.main()
