"""The pre-send hook (docs/webhooks.md): every message and edit is checked
before it is committed, over HTTP and the WebSocket alike; the hook accepts,
rejects with a reason (forbidden, nothing stored) or rewrites the text (what
is stored and delivered); a hook that answers late, with an error or with
nonsense gets the configured default: accept as sent, or refuse as
unavailable (nothing stored, the client tries again)."""
import os

import natter_harness as h
from presend_hook_server import PresendHookServer
from webhook_receiver import free_port

SECRET = "test-presend-secret-0123456789"


class PresendCase(h.ServerTestCase):
    on_failure = "accept"

    @classmethod
    def natterd_args(cls):
        cls.hook = PresendHookServer(SECRET).start()
        return ("--presend-url", cls.hook.url, "--presend-secret", SECRET, "--presend-timeout-ms", "500",
                "--presend-on-failure", cls.on_failure)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.hook.stop()

    def group(self):
        alice, bob = self.server.new_user("pre"), self.server.new_user("pre")
        status, body = self.server.http("POST", "/v1/conversations", {"kind": "group", "members": [bob.id]},
                                        token=alice.token)
        self.assertEqual(status, 200, body)
        return alice, bob, body["id"]

    def send(self, user, conversation, text):
        return self.server.http("POST", f"/v1/conversations/{conversation}/messages",
                                {"client_msg_id": os.urandom(6).hex(), "text": text}, token=user.token)

    def texts(self, user, conversation):
        status, body = self.server.http("GET", f"/v1/conversations/{conversation}/messages?limit=100",
                                        token=user.token)
        self.assertEqual(status, 200, body)
        return [m.get("text") for m in body["messages"] if m["kind"] == "message"]

    def checks(self, verdict):
        return self.server.metrics().get(f'natter_presend_checks_total{{verdict="{verdict}"}}', 0)


class PresendAcceptsOnFailure(PresendCase):
    async def test_the_hook_sees_each_message_signed_and_may_let_it_through(self):
        alice, bob, g = self.group()
        status, sent = self.send(alice, g, "plain hello")
        self.assertEqual(status, 200, sent)
        call = self.hook.calls_with("plain hello")[-1]
        self.assertEqual(call["type"], "message.send")
        self.assertEqual((call["data"]["conversation_id"], call["data"]["sender_id"]), (g, alice.id))
        self.assertEqual(call["data"]["client_msg_id"], sent["client_msg_id"])
        self.assertEqual(self.texts(bob, g), ["plain hello"])
        self.assertEqual(self.hook.forged, [])

    async def test_plain_text_for_an_encrypted_conversation_never_reaches_the_hook(self):
        alice, bob = self.server.new_user("pre"), self.server.new_user("pre")
        status, body = self.server.http("POST", "/v1/conversations",
                                        {"kind": "group", "members": [bob.id], "encrypted": True}, token=alice.token)
        self.assertEqual(status, 200, body)
        status, answer = self.send(alice, body["id"], "a secret in the clear")
        self.assertEqual((status, h.error_of(answer)[0]), (400, "bad_request"), answer)
        self.assertEqual(self.hook.calls_with("a secret in the clear"), [])

    async def test_a_rejected_message_is_forbidden_and_never_stored(self):
        alice, bob, g = self.group()
        rejected = self.checks("rejected")
        status, body = self.send(alice, g, "[reject] buy crypto")
        self.assertEqual(status, 403, body)
        code, message = h.error_of(body)
        self.assertEqual(code, "forbidden")
        self.assertIn("no spam here", message)
        self.assertEqual(self.texts(bob, g), [])
        self.assertEqual(self.checks("rejected"), rejected + 1)
        # Over the WebSocket the same.
        ws = await self.ws(alice)
        with self.assertRaises(h.WsError) as refused:
            await ws.call("messages.send", conversation_id=g, client_msg_id="ws1", text="[reject] again")
        self.assertEqual(refused.exception.code, "forbidden")
        self.assertEqual(self.texts(bob, g), [])

    async def test_a_rewritten_text_is_what_is_stored_and_delivered(self):
        alice, bob, g = self.group()
        bobs = await self.ws(bob)
        status, sent = self.send(alice, g, "[rewrite] darn it")
        self.assertEqual(status, 200, sent)
        self.assertEqual(sent["text"], "[rewrite] d**n it")
        live = await bobs.wait_for(lambda f: f.get("type") == "message" and f["message"]["conversation_id"] == g)
        self.assertEqual(live["message"]["text"], "[rewrite] d**n it")
        self.assertEqual(self.texts(bob, g), ["[rewrite] d**n it"])

    async def test_edits_are_checked_too(self):
        alice, bob, g = self.group()
        status, sent = self.send(alice, g, "first")
        self.assertEqual(status, 200, sent)
        path = f"/v1/conversations/{g}/messages/{sent['seq']}"
        status, body = self.server.http("PATCH", path, {"text": "[rewrite] darn"}, token=alice.token)
        self.assertEqual(status, 200, body)
        self.assertEqual(self.texts(bob, g), ["[rewrite] d**n"])
        status, body = self.server.http("PATCH", path, {"text": "[reject] now spam"}, token=alice.token)
        self.assertEqual(status, 403, body)
        self.assertEqual(self.texts(bob, g), ["[rewrite] d**n"])
        self.assertEqual(self.hook.calls_with("[reject] now spam")[-1]["type"], "message.edit")

    async def test_a_retry_of_a_committed_message_is_answered_without_asking_again(self):
        alice, bob, g = self.group()
        body = {"client_msg_id": os.urandom(6).hex(), "text": "[rewrite] darn retry"}
        path = f"/v1/conversations/{g}/messages"
        status, first = self.server.http("POST", path, body, token=alice.token)
        self.assertEqual((status, first["text"]), (200, "[rewrite] d**n retry"), first)
        asked = len(self.hook.calls_with("darn retry"))
        # The ack was lost; the client sends the same message again.
        status, again = self.server.http("POST", path, body, token=alice.token)
        self.assertEqual(status, 200, again)
        self.assertEqual((again["seq"], again["duplicate"], again["text"]), (first["seq"], True, "[rewrite] d**n retry"))
        self.assertEqual(len(self.hook.calls_with("darn retry")), asked, "the hook was asked again")
        self.assertEqual(self.texts(bob, g), ["[rewrite] d**n retry"])

    async def test_who_may_not_write_is_refused_without_asking_the_hook(self):
        alice, bob, g = self.group()
        outsider = self.server.new_user("pre")
        status, body = self.send(outsider, g, "outsider darn [reject]")
        self.assertEqual(status, 404, body)
        status, sent = self.send(alice, g, "alice's own")
        self.assertEqual(status, 200, sent)
        status, body = self.server.http("PATCH", f"/v1/conversations/{g}/messages/{sent['seq']}",
                                        {"text": "bob edits darn [reject]"}, token=bob.token)
        self.assertEqual(status, 403, body)
        self.assertEqual(self.hook.calls_with("outsider darn") + self.hook.calls_with("bob edits darn"), [])

    async def test_no_usable_answer_lets_the_text_through_as_sent(self):
        alice, bob, g = self.group()
        failed = self.checks("failed")
        texts = ["[slow] late", "[500] broken", "[garbage] nonsense", "[huge] too long"]
        for text in texts:
            status, body = self.send(alice, g, text)
            self.assertEqual(status, 200, body)
            self.assertEqual(body["text"], text)
        self.assertEqual(self.texts(bob, g), texts)
        self.assertEqual(self.checks("failed"), failed + len(texts))
        self.assertIn("presend: the hook gave no usable answer", self.server.log_text())


class PresendRejectsOnFailure(PresendCase):
    on_failure = "reject"

    async def test_no_usable_answer_refuses_the_send_as_unavailable(self):
        alice, bob, g = self.group()
        for text in ["[slow] late", "[500] broken", "[garbage] nonsense", "[huge] too long"]:
            status, body = self.send(alice, g, text)
            self.assertEqual(status, 503, body)
            self.assertEqual(h.error_of(body)[0], "unavailable")
        status, body = self.send(alice, g, "[reject] spam")
        self.assertEqual(status, 403, body)
        status, body = self.send(alice, g, "fine")
        self.assertEqual(status, 200, body)
        self.assertEqual(self.texts(bob, g), ["fine"])

    async def test_a_hook_that_is_down_refuses_every_send(self):
        server = h.Natterd("--presend-url", f"http://127.0.0.1:{free_port()}/presend", "--presend-secret", SECRET,
                           "--presend-on-failure", "reject").start()
        try:
            alice = server.new_user("down")
            status, body = server.http("POST", "/v1/conversations", {"kind": "group", "members": []},
                                       token=alice.token)
            self.assertEqual(status, 200, body)
            status, body = server.http("POST", f"/v1/conversations/{body['id']}/messages",
                                       {"client_msg_id": "a", "text": "hello"}, token=alice.token)
            self.assertEqual(status, 503, body)
        finally:
            server.close()


if __name__ == "__main__":
    h.main()
