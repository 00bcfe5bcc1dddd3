"""Webhooks (docs/webhooks.md): every selected event reaches the operator's
URL signed, read when it is sent (a deleted message goes without its text); a
receiver that is down, failing or never answering gets every event later, once,
and never delays a send; events queued before a crash go out after the
restart; an event failing past the give-up time is dropped and counted; only
the selected events are sent; a URL without a proper secret is refused."""
import os
import subprocess
import time
import unittest

import natter_harness as h
from webhook_receiver import WebhookReceiver, verify

SECRET = "test-webhook-secret-0123456789"


class WebhookCase(h.ServerTestCase):
    extra_args = ()

    @classmethod
    def natterd_args(cls):
        cls.receiver = WebhookReceiver(SECRET).start()
        return ("--webhook-url", cls.receiver.url, "--webhook-secret", SECRET, *cls.extra_args)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.receiver.stop()

    async def asyncSetUp(self):
        await super().asyncSetUp()
        if self.receiver._server is None:
            self.receiver.start()
        self.receiver.release()

    def group(self, owner, *members):
        return self.call("POST", "/v1/conversations", owner, {"kind": "group", "members": [m.id for m in members]})["id"]

    def send(self, user, conversation, text):
        return self.call("POST", f"/v1/conversations/{conversation}/messages", user,
                         {"client_msg_id": os.urandom(6).hex(), "text": text})

    def events_of(self, conversation, kind=None):
        return [e for e in self.receiver.snapshot()
                if e["data"].get("conversation", {}).get("id") == conversation and (kind is None or e["type"] == kind)]

    def wait_events(self, conversation, count, kind="message.created", timeout=30.0):
        return self.receiver.wait_for(lambda _: len(self.events_of(conversation, kind)) >= count and
                                      self.events_of(conversation, kind), timeout)

    def metric(self, name):
        return self.server.metrics().get(name, 0)

    def wait_metric(self, name, at_least, timeout=30.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.metric(name) >= at_least:
                return
            time.sleep(0.1)
        self.fail(f"{name} stayed below {at_least}: {self.metric(name)}")

    def assert_once(self, events):
        ids = [e["id"] for e in events]
        self.assertEqual(len(ids), len(set(ids)), f"an event came twice: {ids}")


class Webhooks(WebhookCase):
    extra_args = ("--webhook-timeout-ms", "3000")

    async def test_every_event_arrives_signed_and_as_it_is_now(self):
        delivered_before = self.metric("natter_webhook_delivered_total")
        alice, bob, carol = (self.server.new_user("hook") for _ in range(3))
        registered = self.receiver.wait_for(
            lambda events: [e for e in events if e["type"] == "user.registered"
                            and e["data"]["user"]["user_id"] == alice.id])[0]
        self.assertEqual(registered["data"]["user"]["handle"], alice.handle)
        self.assertEqual(registered["id"], f"user.registered.{alice.id}")

        g = self.group(alice, bob)
        first = self.send(bob, g, "hello webhooks")
        created = self.wait_events(g, 1)[0]
        self.assertEqual(created["id"], f"{g}.{first['seq']}")
        self.assertEqual((created["data"]["event"]["text"], created["data"]["event"]["sender_id"]),
                         ("hello webhooks", bob.id))
        self.assertEqual(created["data"]["conversation"]["kind"], "group")
        self.assertIsInstance(created["created_at"], int)

        self.call("PATCH", f"/v1/conversations/{g}/messages/{first['seq']}", bob, {"text": "hello again"})
        edited = self.wait_events(g, 1, "message.edited")[0]
        self.assertEqual((edited["data"]["event"]["target_seq"], edited["data"]["event"]["text"]),
                         (first["seq"], "hello again"))
        self.call("POST", f"/v1/conversations/{g}/members", alice, {"user_ids": [carol.id]})
        joined = self.wait_events(g, 1, "member.joined")[0]
        self.assertEqual((joined["data"]["event"]["target_user"], joined["data"]["event"]["sender_id"]),
                         (carol.id, alice.id))
        self.call("DELETE", f"/v1/conversations/{g}/members/{carol.id}", alice)
        left = self.wait_events(g, 1, "member.left")[0]
        self.assertEqual((left["data"]["event"]["kind"], left["data"]["event"]["target_user"]),
                         ("member_removed", carol.id))

        filed = self.call("POST", "/v1/reports", alice,
                          {"conversation_id": g, "seq": first["seq"], "reason": "spam", "text": "webhook spam"})
        report = self.receiver.wait_for(
            lambda events: [e for e in events if e["id"] == f"report.filed.{filed['report_id']}"])[0]
        self.assertEqual((report["data"]["report"]["reporter"], report["data"]["report"]["user_id"],
                          report["data"]["report"]["text"]), (alice.id, bob.id, "webhook spam"))

        # A message deleted before its webhook went out is sent as the
        # tombstone it is now: never with its text.
        failed = self.metric('natter_webhook_failed_total{reason="5xx"}')
        self.receiver.mode = "fail"
        secret = self.send(bob, g, "gone before it is told")
        self.wait_metric('natter_webhook_failed_total{reason="5xx"}', failed + 1)
        self.call("DELETE", f"/v1/conversations/{g}/messages/{secret['seq']}", bob)
        self.receiver.release()
        tombstone = self.receiver.wait_for(
            lambda events: [e for e in events if e["id"] == f"{g}.{secret['seq']}"])[0]
        self.assertTrue(tombstone["data"]["event"]["deleted"])
        self.assertNotIn("text", tombstone["data"]["event"])
        deleted = self.wait_events(g, 1, "message.deleted")[0]
        self.assertEqual(deleted["data"]["event"]["target_seq"], secret["seq"])

        self.assertEqual(self.receiver.forged, [])
        self.assert_once(self.events_of(g))
        self.assertGreaterEqual(self.metric("natter_webhook_delivered_total"), delivered_before + 9)

    async def test_a_receiver_that_is_down_gets_every_event_later_once(self):
        alice, bob = self.server.new_user("down"), self.server.new_user("down")
        g = self.group(alice, bob)
        self.receiver.stop()
        failed = self.metric('natter_webhook_failed_total{reason="no_answer"}')
        sent = [self.send(alice, g, f"while down {i}")["seq"] for i in range(15)]
        self.wait_metric('natter_webhook_failed_total{reason="no_answer"}', failed + 1)
        self.assertEqual(self.events_of(g, "message.created"), [])
        self.receiver.start()
        events = self.wait_events(g, 15)
        time.sleep(1.5)  # a repeat would come now
        events = self.events_of(g, "message.created")
        self.assert_once(events)
        self.assertEqual(sorted(e["data"]["event"]["seq"] for e in events), sent)
        self.wait_metric_zero("natter_webhook_queue_depth")

    async def test_a_receiver_that_never_answers_delays_no_send_and_is_tried_again(self):
        alice, bob = self.server.new_user("hang"), self.server.new_user("hang")
        g = self.group(alice, bob)
        failed = self.metric('natter_webhook_failed_total{reason="no_answer"}')
        self.receiver.hold()
        first = self.send(alice, g, "held")
        self.receiver.wait_for(lambda _: self.receiver.hung >= 1, timeout=10)
        # A delivery is held for up to 3 s (--webhook-timeout-ms); sends go on meanwhile.
        started = time.monotonic()
        more = [self.send(alice, g, f"meanwhile {i}")["seq"] for i in range(5)]
        self.assertLess(time.monotonic() - started, 2.5, "a send waited for a webhook")
        self.wait_metric('natter_webhook_failed_total{reason="no_answer"}', failed + 1)
        self.receiver.release()
        events = self.wait_events(g, 6)
        time.sleep(1.0)
        events = self.events_of(g, "message.created")
        self.assert_once(events)
        self.assertEqual(sorted(e["data"]["event"]["seq"] for e in events), [first["seq"], *more])

    async def test_events_queued_before_a_crash_go_out_after_the_restart(self):
        alice, bob = self.server.new_user("crash"), self.server.new_user("crash")
        g = self.group(alice, bob)
        self.receiver.stop()
        sent = [self.send(alice, g, f"before the crash {i}")["seq"] for i in range(5)]
        self.server.kill()
        self.server.restart()
        self.receiver.start()
        self.wait_events(g, 5)
        time.sleep(1.0)
        events = self.events_of(g, "message.created")
        self.assert_once(events)
        self.assertEqual(sorted(e["data"]["event"]["seq"] for e in events), sent)

    async def test_an_event_being_sent_when_natterd_is_killed_goes_again_at_once_after_the_restart(self):
        # The delivery holds its claim (a lease of over a minute) when the
        # process dies; the restarted natterd must not wait for the lease.
        alice, bob = self.server.new_user("held"), self.server.new_user("held")
        g = self.group(alice, bob)
        self.receiver.wait_for(lambda events: [e for e in events if e["id"] == f"user.registered.{bob.id}"])
        self.receiver.hold()
        hung = self.receiver.hung
        sent = self.send(alice, g, "held at the crash")["seq"]
        self.receiver.wait_for(lambda _: self.receiver.hung > hung, timeout=10)
        self.server.kill()
        self.receiver.release()
        self.server.restart()
        events = self.wait_events(g, 1, timeout=15)
        self.assertEqual([e["data"]["event"]["seq"] for e in events], [sent])

    def wait_metric_zero(self, name, timeout=30.0):
        deadline = time.time() + timeout
        while time.time() < deadline and self.metric(name) != 0:
            time.sleep(0.2)
        self.assertEqual(self.metric(name), 0, name)


class SelectedEvents(WebhookCase):
    extra_args = ("--webhook-events", "message.created,report.filed", "--webhook-give-up-ms", "2000",
                  "--webhook-timeout-ms", "1000")

    async def test_only_the_selected_events_are_sent(self):
        alice, bob, carol = (self.server.new_user("sel") for _ in range(3))
        g = self.group(alice, bob)
        self.call("POST", f"/v1/conversations/{g}/members", alice, {"user_ids": [carol.id]})
        sent = self.send(carol, g, "selected")
        self.wait_events(g, 1)
        time.sleep(1.0)
        self.assertEqual([e["type"] for e in self.events_of(g)], ["message.created"])
        self.assertEqual([e for e in self.receiver.snapshot() if e["type"] == "user.registered"], [])
        self.assertEqual(self.events_of(g)[0]["data"]["event"]["seq"], sent["seq"])

    async def test_an_event_failing_past_the_give_up_time_is_dropped(self):
        alice, bob = self.server.new_user("drop"), self.server.new_user("drop")
        g = self.group(alice, bob)
        dropped = self.metric("natter_webhook_dropped_total")
        self.receiver.mode = "fail"
        lost = self.send(alice, g, "never told")
        self.wait_metric("natter_webhook_dropped_total", dropped + 1)
        self.receiver.release()
        kept = self.send(alice, g, "told")
        self.wait_events(g, 1)
        time.sleep(1.0)
        self.assertEqual([e["data"]["event"]["seq"] for e in self.events_of(g)], [kept["seq"]])
        self.assertNotEqual(lost["seq"], kept["seq"])
        self.assertIn("dropping event", self.server.log_text())


class SignatureCheck(unittest.TestCase):
    """The receiver's check is the one docs/webhooks.md gives: it must refuse
    what natterd would never send, or the suites above prove nothing."""

    def test_the_documented_check_refuses_a_wrong_secret_a_changed_body_and_an_old_time(self):
        import hashlib
        import hmac
        body = b'{"id":"1.1"}'
        t = int(time.time())
        good = f"t={t},v1=" + hmac.new(SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
        self.assertTrue(verify(SECRET, good, body))
        self.assertFalse(verify("another-secret-0123456789", good, body))
        self.assertFalse(verify(SECRET, good, body + b" "))
        old = t - 600
        stale = f"t={old},v1=" + hmac.new(SECRET.encode(), f"{old}.".encode() + body, hashlib.sha256).hexdigest()
        self.assertFalse(verify(SECRET, stale, body))


class WebhookConfig(unittest.TestCase):
    def run_natterd(self, *args):
        return subprocess.run([h._binary(), "--data-dir", "/nonexistent/natter-webhook-config", *args],
                              capture_output=True, text=True, timeout=20)

    def test_a_url_needs_a_long_enough_secret_and_known_events(self):
        url = "http://127.0.0.1:9/hook"
        out = self.run_natterd("--webhook-url", url)
        self.assertEqual(out.returncode, 2, out.stderr)
        self.assertIn("--webhook-secret", out.stderr)
        out = self.run_natterd("--webhook-url", url, "--webhook-secret", "short")
        self.assertEqual(out.returncode, 2, out.stderr)
        self.assertIn("at least 16 bytes", out.stderr)
        out = self.run_natterd("--webhook-url", url, "--webhook-secret", SECRET, "--webhook-events", "message.sent")
        self.assertEqual(out.returncode, 2, out.stderr)
        self.assertIn("unknown event message.sent", out.stderr)
        for bad in ("ftp://127.0.0.1/hook", "http://", "not a url"):
            out = self.run_natterd("--webhook-url", bad, "--webhook-secret", SECRET)
            self.assertEqual(out.returncode, 2, out.stderr)
            self.assertIn("--webhook-url must be an http:// or https:// URL", out.stderr)
        out = self.run_natterd("--presend-url", url, "--presend-secret", SECRET, "--presend-on-failure", "maybe")
        self.assertEqual(out.returncode, 2, out.stderr)
        self.assertIn("--presend-on-failure", out.stderr)
        out = self.run_natterd("--presend-url", url)
        self.assertEqual(out.returncode, 2, out.stderr)
        self.assertIn("--presend-secret", out.stderr)

    def test_a_toml_event_list_must_be_an_array(self):
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            toml = os.path.join(d, "natter.toml")
            with open(toml, "w") as f:
                f.write('webhook-url = "http://127.0.0.1:9/hook"\nwebhook-secret = "%s"\n'
                        'webhook-events = "message.created"\n' % SECRET)
            out = self.run_natterd("--config", toml)
            self.assertNotEqual(out.returncode, 0, out.stderr)
            self.assertIn("'webhook-events' must be an array", out.stderr)


if __name__ == "__main__":
    h.main()
