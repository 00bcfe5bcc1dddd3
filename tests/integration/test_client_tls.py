"""libnatter over TLS against natterd with --tls-cert/--tls-key and a CA made
for the test: two CLI profiles chat over https:// and wss://; a certificate
for another name, a CA the client does not trust and a pin that does not
match are each refused, and the refusal says why and which URL it was."""

import os
import shutil
import subprocess
import tempfile

import natter_harness as h
from client_harness import CLI, Server, TestCA, spki_pin


class TlsClientTest(h.unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="natter-tls-")
        cls.ca = TestCA(cls.dir, "natter-test-ca")
        cls.other_ca = TestCA(cls.dir, "some-other-ca")
        cls.cert, cls.key = cls.ca.issue("server", ["localhost"])
        cls.server = Server(os.path.join(cls.dir, "server"), "--tls-cert", cls.cert, "--tls-key", cls.key,
                            scheme="https", host="localhost").start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def cli(self, profile, *args, server=None, trust=("--ca-file",), check=True):
        trust_args = [trust[0], self.ca.cert] if trust == ("--ca-file",) else list(trust)
        out = subprocess.run([CLI, "--server", server or self.server.url, "--profile",
                              os.path.join(self.dir, profile), "--timeout", "5", *trust_args, *args],
                             capture_output=True, text=True, timeout=60)
        if check:
            self.assertEqual(out.returncode, 0, out.stderr + out.stdout)
        return out

    def test_two_profiles_chat_over_https_and_wss(self):
        wss = self.server.url.replace("https://", "wss://")
        for who, url in (("alice", self.server.url), ("bob", wss)):
            self.cli(who, "register", who, f"password-{who}", server=url)
            self.cli(who, "login", who, f"password-{who}", server=url)
        out = self.cli("alice", "create-direct", "bob")
        conv = out.stdout.split()[-1]
        sent = self.cli("alice", "send", conv, "hello over TLS")
        self.assertIn("sent as [", sent.stdout)
        self.cli("bob", "sync", server=wss)
        history = self.cli("bob", "history", conv, server=wss).stdout
        self.assertIn("hello over TLS", history)

    def test_a_certificate_for_another_name_is_refused(self):
        # The certificate names localhost; 127.0.0.1 is the same server under a name it does not carry.
        url = self.server.url.replace("localhost", "127.0.0.1")
        out = self.cli("wrong-name", "register", "mallory", "password-mallory", server=url, check=False)
        self.assertEqual(out.returncode, 1, out.stdout)
        self.assertIn(f"{url}/v1/auth/register", out.stderr)
        self.assertIn("certificate verify failed: IP address mismatch", out.stderr)

    def test_a_certificate_for_another_dns_name_is_refused(self):
        cert, key = self.ca.issue("elsewhere", ["chat.example"])
        other = Server(os.path.join(self.dir, "elsewhere-server"), "--tls-cert", cert, "--tls-key", key,
                       scheme="https", host="localhost").start()
        try:
            out = self.cli("dns-name", "register", "mallory", "password-mallory", server=other.url, check=False)
        finally:
            other.stop()
        self.assertEqual(out.returncode, 1, out.stdout)
        self.assertIn(f"{other.url}/v1/auth/register: TLS handshake: certificate verify failed: hostname mismatch",
                      out.stderr)

    def test_pins_hold_for_https_calls_too(self):
        wrong = ("--ca-file", self.ca.cert, "--pin", spki_pin(self.other_ca.key))
        out = self.cli("pinned-http", "register", "dave", "password-dave", trust=wrong, check=False)
        self.assertEqual(out.returncode, 1, out.stdout)
        self.assertIn(f"{self.server.url}/v1/auth/register: TLS: no pinned public key", out.stderr)

    def test_a_ca_the_client_does_not_trust_is_refused(self):
        # The system's store does not hold the test CA; another CA file does not either.
        for trust in ((), ("--ca-file", self.other_ca.cert)):
            out = self.cli("untrusted", "register", "eve", "password-eve", trust=trust, check=False)
            self.assertEqual(out.returncode, 1, out.stdout)
            self.assertIn(f"{self.server.url}/v1/auth/register", out.stderr)
            self.assertIn("certificate verify failed: unable to get local issuer certificate", out.stderr)

    def test_pins_accept_the_servers_key_and_refuse_others(self):
        good = ("--ca-file", self.ca.cert, "--pin", spki_pin(self.other_ca.key), "--pin", spki_pin(self.key))
        self.cli("pinned", "register", "pinned", "password-pinned", trust=good)
        self.cli("pinned", "login", "pinned", "password-pinned", trust=good)
        # The CA's key pins the chain as well as the server's own key.
        self.cli("pinned", "sync", trust=("--ca-file", self.ca.cert, "--pin", spki_pin(self.ca.key)))

        # Logged in, the profile reconnects in the background: that attempt's reason reaches the CLI.
        wrong = ("--ca-file", self.ca.cert, "--pin", spki_pin(self.other_ca.key))
        out = self.cli("pinned", "sync", trust=wrong, check=False)
        self.assertEqual(out.returncode, 3, out.stdout)
        self.assertIn(self.server.url.replace("https://", "wss://") + "/v1/ws", out.stderr)
        self.assertIn("no pinned public key in the server's certificate chain (it has " + spki_pin(self.key),
                      out.stderr)

        out = self.cli("pinned", "sync", trust=("--ca-file", self.ca.cert, "--pin", "sha256/short"), check=False)
        self.assertEqual(out.returncode, 2, out.stdout)
        self.assertIn("pin 'sha256/short' is not sha256/<base64 of 32 bytes>", out.stderr)

    def test_an_unreadable_ca_file_is_named(self):
        out = self.cli("no-ca", "sync", trust=("--ca-file", os.path.join(self.dir, "missing.pem")), check=False)
        self.assertEqual(out.returncode, 2, out.stdout)
        self.assertIn("missing.pem cannot be loaded", out.stderr)


if __name__ == "__main__":
    h.main()
