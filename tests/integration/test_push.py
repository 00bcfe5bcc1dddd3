"""Push notifications end to end: natterd against local APNs and FCM
stand-ins that check what the real services check (push_standins.py)."""

import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time

import natter_harness as h
from client_harness import CLI, RawServer, TestCA
from push_standins import APNS_TOPIC, PushStandins, fcm_error

DELAY_MS = 700


def apns_token():
    return secrets.token_hex(32)


class PushTestCase(h.ServerTestCase):
    timeout = 90
    delay_ms = DELAY_MS

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="natter-push-")
        cls.standins = PushStandins(cls.dir, TestCA(cls.dir, "push-ca"))
        cls.server_args = (*cls.standins.natterd_args(), "--push-delay-ms", str(cls.delay_ms))
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.standins.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def call(self, method, path, body=None, user=None, expect=200):
        status, answer = self.server.http(method, path, body, token=user.token if user else None)
        self.assertEqual(status, expect, answer)
        return answer

    def register_device(self, user, platform="apns", token=None, **extra):
        token = token or (apns_token() if platform == "apns" else "fcm:" + secrets.token_urlsafe(40))
        self.call("PUT", "/v1/me/push-device", dict({"platform": platform, "token": token}, **extra), user)
        return token

    def direct(self, a, b):
        return self.call("POST", "/v1/conversations", {"kind": "direct", "peer_id": b.id}, a)["id"]

    def send(self, user, cid, text):
        return self.call("POST", f"/v1/conversations/{cid}/messages",
                         {"client_msg_id": secrets.token_hex(8), "text": text}, user)

    def quiet(self, token, seconds):
        """No push for `token` arrives within `seconds`."""
        time.sleep(seconds)
        self.assertEqual(self.standins.received(token), [])

    def pair(self, prefix):
        return self.server.new_user(prefix + "a"), self.server.new_user(prefix + "b")


class DeliveryTest(PushTestCase):
    async def test_an_offline_device_gets_one_push_with_the_unread_count(self):
        alice, bob = self.pair("off")
        token = self.register_device(bob)
        cid = self.direct(alice, bob)
        self.send(alice, cid, "hello bob")
        got = self.standins.wait_for(1, token)
        self.assertEqual(len(got), 1)
        push = got[0]
        aps = push["payload"]["aps"]
        self.assertEqual(aps["alert"], {"title": alice.handle, "body": "hello bob"})
        self.assertEqual(aps["badge"], 1)
        self.assertEqual(push["headers"]["apns-push-type"], "alert")
        self.assertEqual(push["headers"]["apns-priority"], "10")
        self.assertEqual(push["headers"]["apns-topic"], APNS_TOPIC)
        self.assertEqual(push["headers"]["apns-collapse-id"], f"c{cid}")
        # Kept by APNs for a week while the phone is off.
        self.assertAlmostEqual(int(push["headers"]["apns-expiration"]), time.time() + 7 * 86400, delta=60)
        self.assertEqual(push["payload"]["natter"], {"conversation_id": cid, "seq": 1})
        # A second message: the badge counts both; nothing goes to the sender.
        sender_token = self.register_device(alice)
        self.send(alice, cid, "still there?")
        got = self.standins.wait_for(2, token)
        self.assertEqual([p["payload"]["aps"]["badge"] for p in got], [1, 2])
        self.quiet(sender_token, 0.3)
        time.sleep(self.delay_ms / 1000)
        self.assertEqual(len(self.standins.received(token)), 2)

    async def test_a_connected_foreground_device_gets_none_until_it_goes_to_the_background(self):
        alice, bob = self.pair("fg")
        token = self.register_device(bob)
        cid = self.direct(alice, bob)
        b = await self.ws(bob)
        self.send(alice, cid, "you are online")
        await b.event("message")
        self.quiet(token, self.delay_ms / 1000 + 1.0)
        await b.call("app.state", foreground=False)
        self.send(alice, cid, "now in the background")
        got = self.standins.wait_for(1, token)
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0]["payload"]["aps"]["alert"]["body"], "now in the background")
        # Back in the foreground: none again.
        await b.call("app.state", foreground=True)
        self.send(alice, cid, "welcome back")
        time.sleep(self.delay_ms / 1000 + 1.0)
        self.assertEqual(len(self.standins.received(token)), 1)

    async def test_a_device_that_reconnects_within_the_delay_gets_none(self):
        alice, bob = self.pair("rc")
        token = self.register_device(bob)
        cid = self.direct(alice, bob)
        self.send(alice, cid, "are you there")
        b = await self.ws(bob)  # well within the delay
        await b.call("sync")
        # Gone again before the push was due: it was heard from after the message, so it saw it.
        await b.close()
        self.quiet(token, self.delay_ms / 1000 + 1.0)
        # Gone now: the next message is pushed.
        self.send(alice, cid, "and now?")
        got = self.standins.wait_for(1, token)
        self.assertEqual([p["payload"]["aps"]["alert"]["body"] for p in got], ["and now?"])

    async def test_a_burst_collapses_into_one_push(self):
        alice, bob = self.pair("burst")
        token = self.register_device(bob)
        cid = self.direct(alice, bob)
        a = await self.ws(alice)
        for i in range(20):
            await a.call("messages.send", conversation_id=cid, client_msg_id=f"b{i}", text=f"burst {i}")
        got = self.standins.wait_for(1, token)
        time.sleep(self.delay_ms / 1000 + 1.0)
        got = self.standins.received(token)
        self.assertEqual(len(got), 1, [p["payload"] for p in got])
        self.assertEqual(got[0]["payload"]["aps"]["badge"], 20)
        self.assertEqual(got[0]["payload"]["aps"]["alert"]["body"], "burst 19")
        self.assertEqual(got[0]["payload"]["natter"]["seq"], 20)

    async def test_a_muted_conversation_updates_the_badge_without_an_alert(self):
        alice, bob = self.pair("mute")
        token = self.register_device(bob)
        cid = self.direct(alice, bob)
        muted = self.call("PUT", f"/v1/conversations/{cid}/mute", {}, bob)
        self.assertEqual(muted["muted_until"], -1)
        listed = self.call("GET", "/v1/conversations", None, bob)["conversations"]
        self.assertEqual([c["muted_until"] for c in listed if c["id"] == cid], [-1])
        self.send(alice, cid, "shh")
        got = self.standins.wait_for(1, token)
        self.assertEqual(len(got), 1)
        aps = got[0]["payload"]["aps"]
        self.assertNotIn("alert", aps)
        self.assertNotIn("sound", aps)
        self.assertEqual(aps["badge"], 1)
        self.assertEqual(got[0]["headers"]["apns-priority"], "5")
        # A mute that already ended alerts again; unmuting likewise.
        self.call("PUT", f"/v1/conversations/{cid}/mute", {"until": int(time.time() * 1000) - 1000}, bob)
        self.send(alice, cid, "the mute is over")
        got = self.standins.wait_for(2, token)
        self.assertEqual(got[1]["payload"]["aps"]["alert"]["body"], "the mute is over")
        self.call("DELETE", f"/v1/conversations/{cid}/mute", None, bob)
        # Someone else's conversation cannot be muted.
        carol = self.server.new_user("mutec")
        status, body = self.server.http("PUT", f"/v1/conversations/{cid}/mute", {}, token=carol.token)
        self.assertEqual((status, h.error_of(body)[0]), (404, "not_found"))

    async def test_hidden_previews_name_nobody(self):
        alice, bob = self.pair("prev")
        token = self.register_device(bob)
        self.assertEqual(self.call("PUT", "/v1/me/push", {"show_preview": False}, bob), {"show_preview": False})
        settings = self.call("GET", "/v1/me/push", None, bob)
        self.assertEqual((settings["show_preview"], settings["device"]["token"]), (False, token))
        cid = self.direct(alice, bob)
        self.send(alice, cid, "secret plans")
        got = self.standins.wait_for(1, token)
        self.assertEqual(got[0]["payload"]["aps"]["alert"], {"body": "New message"})

    async def test_reading_on_another_device_clears_the_notification(self):
        alice, bob = self.pair("clr")
        phone = self.register_device(bob)
        cid = self.direct(alice, bob)
        self.send(alice, cid, "read me")
        self.assertEqual(len(self.standins.wait_for(1, phone)), 1)
        laptop = self.server.relogin(bob, device="laptop")
        self.call("POST", f"/v1/conversations/{cid}/read", {"seq": 1}, laptop)
        got = self.standins.wait_for(2, phone)
        self.assertEqual(len(got), 2)
        clear = got[1]
        self.assertEqual(clear["headers"]["apns-push-type"], "background")
        self.assertEqual(clear["headers"]["apns-priority"], "5")
        self.assertEqual(clear["payload"]["aps"], {"content-available": 1})
        self.assertEqual(clear["payload"]["natter"], {"conversation_id": cid, "seq": 1, "clear": True, "badge": 0})
        # Reading again changes nothing: no second clear.
        self.call("POST", f"/v1/conversations/{cid}/read", {"seq": 1}, laptop)
        time.sleep(0.8)
        self.assertEqual(len(self.standins.received(phone)), 2)

    async def test_replying_from_another_device_clears_the_notification(self):
        alice, bob = self.pair("reply")
        phone = self.register_device(bob)
        cid = self.direct(alice, bob)
        self.send(alice, cid, "lunch?")
        self.assertEqual(len(self.standins.wait_for(1, phone)), 1)
        laptop = self.server.relogin(bob, device="laptop")
        self.send(laptop, cid, "yes!")
        got = self.standins.wait_for(2, phone)
        self.assertEqual(len(got), 2)
        self.assertEqual(got[1]["payload"]["natter"], {"conversation_id": cid, "seq": 2, "clear": True, "badge": 0})

    async def test_fcm_devices_get_data_and_a_notification_with_one_access_token(self):
        alice, bob = self.pair("fcm")
        token = self.register_device(bob, "fcm")
        cid = self.direct(alice, bob)
        grants = self.standins.token_grants
        self.send(alice, cid, "over fcm")
        got = self.standins.wait_for(1, token)
        self.assertEqual(len(got), 1)
        message = got[0]["payload"]
        self.assertEqual(message["notification"], {"title": alice.handle, "body": "over fcm"})
        self.assertEqual(message["data"], {"conversation_id": str(cid), "seq": "1", "badge": "1", "kind": "message"})
        self.assertEqual(message["android"]["collapse_key"], f"c{cid}")
        self.assertIn(message["android"]["ttl"], ("604800s", "604799s"))
        self.send(alice, cid, "again")
        self.assertEqual(len(self.standins.wait_for(2, token)), 2)
        self.assertLessEqual(self.standins.token_grants - grants, 1, "the access token was not reused")

    async def test_a_token_moves_to_the_session_that_registers_it_last(self):
        alice, bob = self.pair("move")
        carol = self.server.new_user("movec")
        token = self.register_device(bob)
        self.register_device(carol, token=token)  # the phone changed hands
        self.assertIsNone(self.call("GET", "/v1/me/push", None, bob)["device"])
        cid = self.direct(alice, bob)
        self.send(alice, cid, "for bob")
        self.quiet(token, self.delay_ms / 1000 + 1.0)
        # Carol's messages reach it.
        self.send(alice, self.direct(alice, carol), "for carol")
        self.assertEqual(len(self.standins.wait_for(1, token)), 1)
        # Unregistering ends pushes; so does logging out.
        other = self.register_device(bob)
        self.call("DELETE", "/v1/me/push-device", None, bob)
        phone = self.server.relogin(bob, device="phone")
        third = self.register_device(phone)
        self.call("POST", "/v1/auth/logout", None, phone)
        self.send(alice, cid, "for bob again")
        self.quiet(other, self.delay_ms / 1000 + 1.0)
        self.assertEqual(self.standins.received(third), [])

    async def test_one_connection_carries_a_group_s_pushes(self):
        alice = self.server.new_user("mux")
        members = [self.server.new_user(f"mux{i}") for i in range(12)]
        tokens = [self.register_device(m) for m in members]
        group = self.call("POST", "/v1/conversations",
                          {"kind": "group", "title": "twelve", "members": [m.id for m in members]}, alice)["id"]
        self.send(alice, group, "to all twelve")  # a first push may open the connection
        for token in tokens:
            self.assertEqual(len(self.standins.wait_for(1, token)), 1)
        before = self.standins.connections
        self.send(alice, group, "again, to all twelve")
        for token in tokens:
            self.assertEqual(len(self.standins.wait_for(2, token)), 2)
        self.assertEqual(self.standins.connections, before, "pushes opened new connections instead of reusing one")
        self.assertEqual(self.standins.received(tokens[0])[1]["payload"]["aps"]["alert"],
                         {"title": "twelve", "body": f"{alice.handle}: again, to all twelve"})

    async def test_bad_registrations_are_refused(self):
        bob = self.server.new_user("badreg")
        for body in ({"platform": "webpush", "token": "x"}, {"platform": "apns", "token": ""},
                     {"platform": "apns", "token": "abc/../../x"}, {"platform": "apns", "token": "a" * 4097},
                     {"platform": "fcm", "token": "t", "environment": "sandbox"},
                     {"platform": "apns", "token": "ab", "topic": "bad topic"}, {"platform": "apns"}):
            status, answer = self.server.http("PUT", "/v1/me/push-device", body, token=bob.token)
            self.assertEqual((status, h.error_of(answer)[0]), (400, "bad_request"), body)
        self.assertIsNone(self.call("GET", "/v1/me/push", None, bob)["device"])
        status, _ = self.server.http("PUT", "/v1/me/push-device", {"platform": "apns", "token": "ab"})
        self.assertEqual(status, 401)


class ProviderErrorsTest(PushTestCase):
    async def test_an_unregistered_token_is_pruned_and_never_tried_again(self):
        alice, bob = self.pair("gone")
        token = self.register_device(bob)
        self.standins.script(token, (410, {"reason": "Unregistered", "timestamp": 1}, {}))
        cid = self.direct(alice, bob)
        before = self.server.metrics()
        self.send(alice, cid, "anyone?")
        deadline = time.monotonic() + 10
        while self.call("GET", "/v1/me/push", None, bob)["device"] is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertIsNone(self.call("GET", "/v1/me/push", None, bob)["device"])
        self.send(alice, cid, "anyone at all?")
        self.quiet(token, self.delay_ms / 1000 + 1.5)
        self.assertEqual(self.standins.answers[token], [], "the scripted answer was not used")
        after = self.server.metrics()
        pruned = 'natter_push_tokens_pruned_total{provider="apns"}'
        self.assertEqual(after[pruned] - before.get(pruned, 0), 1)

    async def test_fcm_unregistered_is_pruned_too(self):
        alice, bob = self.pair("fgone")
        token = self.register_device(bob, "fcm")
        self.standins.script(token, (404, fcm_error(404, "NOT_FOUND", "UNREGISTERED"), {}))
        cid = self.direct(alice, bob)
        self.send(alice, cid, "hello?")
        deadline = time.monotonic() + 10
        while self.call("GET", "/v1/me/push", None, bob)["device"] is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertIsNone(self.call("GET", "/v1/me/push", None, bob)["device"])

    async def test_429_waits_for_retry_after(self):
        alice, bob = self.pair("slow")
        token = self.register_device(bob)
        self.standins.script(token, (429, {"reason": "TooManyRequests"}, {"retry-after": "3"}))
        cid = self.direct(alice, bob)
        sent_at = time.monotonic()
        self.send(alice, cid, "patience")
        # Another message brings the job back early: the token still waits.
        deadline = time.monotonic() + 10
        while self.standins.answers[token] and time.monotonic() < deadline:
            time.sleep(0.05)
        self.send(alice, cid, "more patience")
        got = self.standins.wait_for(1, token, timeout=15)
        self.assertEqual(len(got), 1)
        waited = got[0]["at"] - sent_at
        self.assertGreaterEqual(waited, self.delay_ms / 1000 + 3.0, "sent again before Retry-After")
        self.assertLess(waited, self.delay_ms / 1000 + 8.0)
        metrics = self.server.metrics()
        self.assertGreaterEqual(metrics['natter_push_retried_total{provider="apns"}'], 1)

    async def test_a_user_alerted_on_one_device_is_not_alerted_again_for_another_s_failure(self):
        alice, bob = self.pair("two")
        phone = self.register_device(bob)
        tablet = self.register_device(self.server.relogin(bob, device="tablet"))
        self.standins.script(tablet, (503, {"reason": "ServiceUnavailable"}, {}))
        cid = self.direct(alice, bob)
        self.send(alice, cid, "to both")
        self.assertEqual(len(self.standins.wait_for(1, phone)), 1)
        time.sleep(2.5)  # past the retry the 503 asked for
        self.assertEqual(len(self.standins.received(phone)), 1, "the phone was alerted twice")
        self.assertEqual(self.standins.received(tablet), [])
        # The next message reaches both.
        self.send(alice, cid, "and again")
        self.assertEqual(len(self.standins.wait_for(1, tablet)), 1)
        self.assertEqual(len(self.standins.wait_for(2, phone)), 2)

    async def test_a_refused_notification_is_counted_and_not_retried(self):
        alice, bob = self.pair("bad")
        token = self.register_device(bob)
        self.standins.script(token, (413, {"reason": "PayloadTooLarge"}, {}))
        cid = self.direct(alice, bob)
        self.send(alice, cid, "too big, says the stand-in")
        time.sleep(self.delay_ms / 1000 + 2.0)
        self.assertEqual(self.standins.received(token), [])
        metrics = self.server.metrics()
        self.assertEqual(metrics['natter_push_failed_total{provider="apns",reason="PayloadTooLarge"}'], 1)
        self.assertIsNotNone(self.call("GET", "/v1/me/push", None, bob)["device"], "a valid token was dropped")


class SilentProviderTest(PushTestCase):
    """APNs accepts connections and never answers (not even the TLS handshake)."""

    @classmethod
    def natterd_args(cls):
        cls.silent = RawServer(lambda sock, n: time.sleep(60))
        silent_url = f"https://127.0.0.1:{cls.silent.port}"
        args = list(cls.server_args)
        for flag in ("--apns-url", "--apns-sandbox-url"):
            args[args.index(flag) + 1] = silent_url
        return (*args, "--push-timeout-ms", "1000")

    async def test_a_provider_that_never_answers_holds_up_neither_the_server_nor_the_other_provider(self):
        alice, bob = self.pair("silent")
        carol = self.server.new_user("silentc")
        self.register_device(bob)
        android = self.register_device(carol, "fcm")
        self.send(alice, self.direct(alice, bob), "to the silent provider")
        retried = 'natter_push_retried_total{provider="apns"}'
        deadline = time.monotonic() + 10
        while self.server.metrics().get(retried, 0) < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertGreaterEqual(self.server.metrics().get(retried, 0), 1, "the silent request was never given up")
        # The API still answers, and FCM devices still get theirs while APNs stays silent.
        status, _ = self.server.http("GET", "/v1/me/push", token=bob.token)
        self.assertEqual(status, 200)
        self.send(alice, self.direct(alice, carol), "over the provider that answers")
        self.assertEqual(len(self.standins.wait_for(1, android, timeout=10)), 1)


class RestartTest(PushTestCase):
    delay_ms = 2500

    @classmethod
    def natterd_args(cls):
        return (*cls.server_args, "--push-lease-ms", "3000")

    async def test_a_push_under_way_when_natterd_is_killed_is_sent_after_restart(self):
        alice, bob = self.pair("midway")
        token = self.register_device(bob)
        self.standins.script(token, (200, None, {}, 2.0))  # the provider takes its time
        cid = self.direct(alice, bob)
        self.send(alice, cid, "in flight")
        deadline = time.monotonic() + 10
        while self.standins.answers[token] and time.monotonic() < deadline:
            time.sleep(0.05)  # the request reached the provider, which is still answering
        self.assertEqual(self.standins.answers[token], [])
        self.server.kill()
        self.server.start()
        got = self.standins.wait_for(1, token, timeout=20)
        self.assertEqual(len(got), 1, "the job under way was lost with the process")

    async def test_pushes_queued_when_natterd_is_killed_are_sent_after_restart_once(self):
        users = [self.pair(f"kill{i}") for i in range(3)]
        tokens = []
        for alice, bob in users:
            token = self.register_device(bob)
            tokens.append(token)
            cid = self.direct(alice, bob)
            self.send(alice, cid, "before the crash")
        self.server.kill()  # well within the delay: every push is still queued
        self.assertEqual([self.standins.received(t) for t in tokens], [[], [], []])
        self.server.start()
        for token in tokens:
            self.assertEqual(len(self.standins.wait_for(1, token, timeout=15)), 1)
        time.sleep(self.delay_ms / 1000 + 1.0)
        for token in tokens:
            self.assertEqual(len(self.standins.received(token)), 1, "a push was sent twice")


class CliPushTest(PushTestCase):
    def natter(self, profile, *args, server=None):
        out = subprocess.run([CLI, "--server", server or f"http://127.0.0.1:{self.server.port}", "--profile",
                              os.path.join(self.dir, profile), "--timeout", "5", *args],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, f"natter {' '.join(args)}: {out.stderr}{out.stdout}")
        return out.stdout.strip()

    async def test_the_cli_registers_a_token_mutes_and_reads_a_push(self):
        alice = self.server.new_user("clia")
        self.natter("bob", "register", "clibob", "password-bob")
        self.natter("bob", "login", "clibob", "password-bob")
        bob_id = self.call("GET", "/v1/users/clibob", None, alice)["user_id"]
        token = apns_token()
        self.assertEqual(self.natter("bob", "push-token", "apns", token), "push token registered")
        cid = self.call("POST", "/v1/conversations", {"kind": "direct", "peer_id": bob_id}, alice)["id"]
        self.send(alice, cid, "from http to the cli")
        got = self.standins.wait_for(1, token)
        self.assertEqual(len(got), 1)
        payload = json.dumps(got[0]["payload"])
        self.assertEqual(self.natter("bob", "read-push", payload), f"message in {cid} at [1]")
        self.assertEqual(self.natter("bob", "mute", str(cid)), f"muted {cid} until unmuted")
        self.send(alice, cid, "quietly")
        got = self.standins.wait_for(2, token)
        self.assertNotIn("alert", got[1]["payload"]["aps"])
        self.assertEqual(self.natter("bob", "unmute", str(cid)), f"unmuted {cid}")
        # An FCM data map reads the same.
        data = {"conversation_id": str(cid), "seq": "7", "badge": "2", "kind": "clear"}
        self.assertEqual(self.natter("bob", "read-push", json.dumps({"data": data})), f"clear in {cid} at [7]")
        out = subprocess.run([CLI, "--profile", os.path.join(self.dir, "bob"), "read-push", '{"aps":{}}'],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 1)
        self.assertIn("not natterd's", out.stderr)

    async def test_a_token_registered_offline_is_registered_on_the_next_connection(self):
        alice = self.server.new_user("offa")
        self.natter("carol", "register", "clicarol", "password-carol")
        self.natter("carol", "login", "clicarol", "password-carol")
        carol_id = self.call("GET", "/v1/users/clicarol", None, alice)["user_id"]
        token = apns_token()
        self.assertEqual(self.natter("carol", "push-token", "apns", token, server="http://127.0.0.1:1"),
                         "push token pending")
        self.natter("carol", "sync")
        cid = self.call("POST", "/v1/conversations", {"kind": "direct", "peer_id": carol_id}, alice)["id"]
        self.send(alice, cid, "registered late")
        self.assertEqual(len(self.standins.wait_for(1, token)), 1)


if __name__ == "__main__":
    h.main()
