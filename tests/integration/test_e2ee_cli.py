"""End-to-end encrypted conversations through the natter CLI (docs/e2ee.md):
two and three profiles in an encrypted direct chat and group, whose text never
reaches the server's files or its log, and safety numbers that agree. (The C
API's side, with new devices, stale lists and failures, is test_e2ee_client;
this one runs under the sanitizers too.)"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import natter_harness as h  # noqa: E402
from client_harness import CLI, Profiles, Server  # noqa: E402


def files_under(directory):
    for root, _, names in os.walk(directory):
        for name in names:
            yield os.path.join(root, name)


class EncryptedCliTest(h.unittest.TestCase, Profiles):
    cli_timeout = "10"

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="natter-e2ee-cli-")
        cls.log = os.path.join(cls.dir, "natterd.log")
        # Debug logging: the most the server ever writes about a request.
        cls.server = Server(os.path.join(cls.dir, "server"), "--log-level", "debug", log_path=cls.log).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def person(self, handle):
        """A CLI profile registered and logged in: one device."""
        self.cli(handle, "register", handle, f"password-{handle}")
        self.cli(handle, "login", handle, f"password-{handle}")
        return handle

    def seq_of(self, output):
        found = re.search(r"as \[(\d+)\]", output)
        self.assertIsNotNone(found, output)
        return found.group(1)

    def history(self, profile, conversation):
        return self.cli(profile, "history", str(conversation), "--limit", "50").stdout

    def assert_nowhere_on_the_server(self, secrets):
        found = []
        for path in list(files_under(self.server.data_dir)) + [self.log]:
            with open(path, "rb") as f:
                data = f.read()
            found += [(s, path) for s in secrets if s.encode() in data]
        self.assertEqual(found, [], "plaintext on the server")

    def test_a_direct_chat_and_a_group_keep_their_text_from_the_server(self):
        alice, bob, carol = self.person("e2alice"), self.person("e2bob"), self.person("e2carol")
        direct = self.cli_json(alice, "create-direct", "--encrypted", "e2bob")
        self.assertTrue(direct["encrypted"])
        self.seq_of(self.cli(alice, "send", str(direct["id"]), "the eagle lands at noon").stdout)
        self.assertIn("e2alice: the eagle lands at noon", self.history(bob, direct["id"]))
        self.seq_of(self.cli(bob, "send", str(direct["id"]), "understood, noon it is").stdout)
        history = self.history(alice, direct["id"])
        self.assertIn("e2alice: the eagle lands at noon", history)
        self.assertIn("e2bob: understood, noon it is", history)

        group = self.cli_json(alice, "create-group", "--encrypted", "plans", "e2bob", "e2carol")
        self.assertTrue(group["encrypted"])
        first = self.seq_of(self.cli(alice, "send", str(group["id"]), "meet by the old mill").stdout)
        self.seq_of(self.cli(bob, "send", str(group["id"]), "bring the blue lantern").stdout)
        self.cli(alice, "edit", str(group["id"]), first, "meet by the new mill")
        self.cli(carol, "react", str(group["id"]), first, "+1")
        for reader in (bob, carol, alice):
            history = self.history(reader, group["id"])
            self.assertIn(f"[{first}] e2alice: meet by the new mill (edited)", history)
            if reader != bob:  # bob's own send: his device has no envelope of its own, it kept the text
                self.assertIn("e2bob: bring the blue lantern", history)
            self.assertNotIn("could not decrypt", history)
        self.assertIn(f"e2carol reacted +1 to [{first}]", self.history(bob, group["id"]))
        self.assertIn("e2bob: bring the blue lantern", self.history(bob, group["id"]))

        # Both ends compute the same safety number: 12 groups of 5 digits.
        number = re.search(r": ((\d{5} ){11}\d{5})$", self.cli(alice, "safety", "e2bob").stdout.strip())
        self.assertIsNotNone(number)
        self.assertIn(number.group(1), self.cli(bob, "safety", "e2alice").stdout)
        self.assertNotEqual(number.group(1), self.cli(alice, "safety", "e2carol").stdout.split(": ")[-1].strip())

        secrets = ["the eagle lands at noon", "understood, noon it is", "meet by the old mill",
                   "meet by the new mill", "bring the blue lantern"]
        self.cli(alice, "sync")
        self.assert_nowhere_on_the_server(secrets)
        # The search can find them: the readers' own stores hold the text.
        with open(os.path.join(self.dir, carol, "natter-client.db"), "rb") as f:
            self.assertIn(b"meet by the new mill", f.read())
        with open(os.path.join(self.dir, carol, "keys.db"), "rb") as f:
            self.assertNotIn(b"meet by the", f.read())


    def test_chat_tells_of_a_new_device_to_compare_safety_numbers_for(self):
        sam, tia = self.person("e2sam"), self.person("e2tia")
        conv = str(self.cli_json(sam, "create-direct", "--encrypted", "e2tia")["id"])
        self.seq_of(self.cli(sam, "send", conv, "first").stdout)
        self.person_device("e2tia", "e2tia-phone")  # tia signs in on a second device
        chat = subprocess.Popen([CLI, "--server", self.server.url, "--profile", os.path.join(self.dir, sam),
                                 "--timeout", "10", "chat", conv],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            chat.stdin.write("to both your phones\n")
            chat.stdin.flush()
            lines, deadline = [], time.monotonic() + 20
            while time.monotonic() < deadline and not any("has a new device" in x for x in lines):
                lines.append(chat.stdout.readline())
            self.assertTrue(any("e2tia has a new device; compare safety numbers again" in x for x in lines), lines)
        finally:
            chat.stdin.close()
            chat.wait(15)
        self.assertIn("e2sam: to both your phones", self.history("e2tia-phone", conv))

    def test_encrypted_sends_made_offline_survive_a_killed_client_and_arrive_once(self):
        """The outbox keeps encrypted sends as it keeps plain ones: written while
        the server is down, the client killed before it could seal or send them,
        they go out sealed, once each and in order, when it next runs."""
        uma, vic = self.person("e2uma"), self.person("e2vic")
        conv = str(self.cli_json(uma, "create-direct", "--encrypted", "e2vic")["id"])
        self.seq_of(self.cli(uma, "send", conv, "before the outage").stdout)
        self.server.kill()
        try:
            chat = subprocess.Popen([CLI, "--server", self.server.url, "--profile", os.path.join(self.dir, uma),
                                     "--timeout", "1", "chat", conv],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True)
            try:
                for i in range(3):
                    chat.stdin.write(f"sealed later {i}\n")
                    chat.stdin.flush()
                seen, deadline = 0, time.monotonic() + 15
                while seen < 3 and time.monotonic() < deadline:
                    seen += "pending" in chat.stdout.readline()
                self.assertEqual(seen, 3)
            finally:
                chat.send_signal(signal.SIGKILL)  # nothing sealed, sent or flushed
                chat.wait(10)
        finally:
            self.server.start()
        self.cli(uma, "sync")
        self.cli(uma, "sync")  # a second run must not send them again
        lines = [x for x in self.history(vic, conv).splitlines() if "e2uma:" in x]
        self.assertEqual([x.split("e2uma: ", 1)[1] for x in lines],
                         ["before the outage", "sealed later 0", "sealed later 1", "sealed later 2"], lines)
        self.assert_nowhere_on_the_server(["sealed later 0", "sealed later 1", "sealed later 2"])

    def person_device(self, handle, profile):
        self.cli(profile, "login", handle, f"password-{handle}")
        return profile

    def test_logging_in_again_replaces_the_profile_s_device(self):
        """A login over a profile's session ends that session, and its device
        with it: peers do not go on encrypting to a device nobody reads."""
        rae = self.person("e2rae")
        for _ in range(2):
            self.cli(rae, "login", "e2rae", "password-e2rae")
        _, login = h.http_request(self.server.port, "POST", "/v1/auth/login",
                                  {"handle": "e2rae", "password": "password-e2rae", "device": "check"})
        _, listed = h.http_request(self.server.port, "GET", f"/v1/users/{login['user_id']}/devices",
                                   token=login["access_token"])
        self.assertEqual(len(listed["devices"]), 1, listed)


if __name__ == "__main__":
    h.main()
