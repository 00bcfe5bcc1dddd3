"""auth.external: a token signed by the operator's own backend (EdDSA or
RS256, a configured issuer, audience and public key) is exchanged for a
natterd session; the first one makes the account, later ones find it; a
token with another issuer, audience, algorithm or signature, or expired, is
refused; a suspended account is refused too."""
import base64
import json
import os
import subprocess
import tempfile
import time

import natter_harness as h

KEYS = tempfile.mkdtemp(prefix="natter-ext-")
ISSUER = "https://auth.example.app"


def openssl(*args, data=None):
    return subprocess.run(["openssl", *args], input=data, capture_output=True, check=True).stdout


def keypair(name, *genpkey):
    private = os.path.join(KEYS, f"{name}.pem")
    openssl("genpkey", *genpkey, "-out", private)
    openssl("pkey", "-in", private, "-pubout", "-out", os.path.join(KEYS, f"{name}.pub"))
    return private


ED = keypair("ed", "-algorithm", "ed25519")
ED_OTHER = keypair("ed-other", "-algorithm", "ed25519")
RSA = keypair("rsa", "-algorithm", "rsa", "-pkeyopt", "rsa_keygen_bits:2048")


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(key, alg, **claims):
    body = {"iss": ISSUER, "aud": "natter", "exp": int(time.time()) + 600, **claims}
    signed = f"{b64(json.dumps({'alg': alg, 'typ': 'JWT'}).encode())}.{b64(json.dumps(body).encode())}"
    if alg == "EdDSA":
        with tempfile.NamedTemporaryFile(dir=KEYS) as f:
            f.write(signed.encode())
            f.flush()
            signature = openssl("pkeyutl", "-sign", "-inkey", key, "-rawin", "-in", f.name)
    else:
        signature = openssl("dgst", "-sha256", "-sign", key, data=signed.encode())
    return f"{signed}.{b64(signature)}"


def resign(key, header, payload):
    signed = f"{header}.{b64(json.dumps(payload).encode())}"
    with tempfile.NamedTemporaryFile(dir=KEYS) as f:
        f.write(signed.encode())
        f.flush()
        signature = openssl("pkeyutl", "-sign", "-inkey", key, "-rawin", "-in", f.name)
    return f"{signed}.{b64(signature)}"


class Exchange:
    def exchange(self, jwt, expect=200):
        status, body = self.server.http("POST", "/v1/auth/external", {"token": jwt, "device": "app"})
        self.assertEqual(status, expect, body)
        return body


class EdDsaIssuer(Exchange, h.ServerTestCase):
    server_args = ("--external-issuer", ISSUER, "--external-key", os.path.join(KEYS, "ed.pub"),
                   "--external-audience", "natter", "--admins", "root")

    def test_the_first_token_makes_the_account_and_later_ones_find_it(self):
        first = self.exchange(token(ED, "EdDSA", sub="u-1", preferred_username="extalice", name="Alice E."))
        status, me = self.server.http("GET", "/v1/users/extalice", token=first["access_token"])
        self.assertEqual((status, me["user_id"], me["display_name"]), (200, first["user_id"], "Alice E."))
        again = self.exchange(token(ED, "EdDSA", sub="u-1", preferred_username="renamed"))
        self.assertEqual(again["user_id"], first["user_id"])  # the subject decides, not the handle
        self.assertNotEqual(again["session_id"], first["session_id"])
        # The session is natterd's own: refresh works, the WebSocket too.
        status, refreshed = self.server.http("POST", "/v1/auth/refresh", {"refresh_token": again["refresh_token"]})
        self.assertEqual(status, 200, refreshed)
        # No password opens it.
        self.assertEqual(self.server.login("extalice", "")[0], 400)
        self.assertEqual(self.server.login("extalice", "anything-at-all")[0], 401)

    def test_bad_tokens_are_refused(self):
        good = token(ED, "EdDSA", sub="u-2", preferred_username="extbob")
        head, body, sig = good.split(".")
        cases = {
            "bad signature": token(ED_OTHER, "EdDSA", sub="u-2", preferred_username="extbob"),
            "alg must be EdDSA": token(RSA, "RS256", sub="u-2", preferred_username="extbob"),
            "wrong issuer": token(ED, "EdDSA", sub="u-2", iss="https://evil.example"),
            "wrong audience": token(ED, "EdDSA", sub="u-2", aud="someone-else"),
            "expired": token(ED, "EdDSA", sub="u-2", exp=int(time.time()) - 3600),
            "expires too far ahead": token(ED, "EdDSA", sub="u-2", exp=int(time.time()) + 7 * 86400),
            "no subject": token(ED, "EdDSA", preferred_username="extbob"),
            "not a signed JWT": f"{head}.{body}",
            "malformed": f"{head}.{b64(b'not json')}.{sig}",
        }
        for why, jwt in cases.items():
            answer = self.exchange(jwt, expect=401)
            self.assertEqual(h.error_of(answer), ("unauthorized", f"external token refused: {why}"), why)
        # The claims changed under the original signature.
        forged = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        forged["sub"] = "someone-else"
        self.assertIn("bad signature", h.error_of(self.exchange(
            f"{head}.{b64(json.dumps(forged).encode())}.{sig}", expect=401))[1])
        for why, extra in (("no expiry", {"exp": None}), ("exp is not a date", {"exp": "tomorrow"}),
                           ("not valid yet", {"nbf": int(time.time()) + 3600}),
                           ("nbf is not a date", {"nbf": 1e300})):
            claims = {"sub": "u-2", **extra}
            jwt = token(ED, "EdDSA", **claims)
            if extra.get("exp", 0) is None:  # drop exp entirely
                h_, b_, _ = jwt.split(".")
                payload = json.loads(base64.urlsafe_b64decode(b_ + "=" * (-len(b_) % 4)))
                del payload["exp"]
                jwt = resign(ED, h_, payload)
            self.assertEqual(h.error_of(self.exchange(jwt, expect=401))[1], f"external token refused: {why}")
        none = f"{b64(json.dumps({'alg': 'none'}).encode())}.{body}."
        self.assertIn("alg must be EdDSA", h.error_of(self.exchange(none, expect=401))[1])
        # A new subject must name a usable handle, and not one that is taken.
        self.server.new_user("extcarol")
        self.exchange(token(ED, "EdDSA", sub="u-3"), expect=400)
        self.exchange(token(ED, "EdDSA", sub="u-3", preferred_username="bad handle!"), expect=400)
        status, _ = self.server.register("takenhandle", "pw-taken-secret")
        self.assertEqual(status, 200)
        self.exchange(token(ED, "EdDSA", sub="u-3", preferred_username="takenhandle"), expect=409)
        self.exchange(good)
        # A handle the configuration gives a server role is never a token's to take.
        self.exchange(token(ED, "EdDSA", sub="u-5", preferred_username="Root"), expect=409)

    def test_a_suspended_external_account_is_refused(self):
        made = self.exchange(token(ED, "EdDSA", sub="u-4", preferred_username="extdan"))
        status, body = self.server.register("root", "pw-root-secret")
        status, login = self.server.login("root", "pw-root-secret")
        status, _ = self.server.http("POST", f"/admin/v1/users/{made['user_id']}/suspend", None,
                                     token=login["access_token"])
        self.assertEqual(status, 200)
        answer = self.exchange(token(ED, "EdDSA", sub="u-4"), expect=403)
        self.assertEqual(h.error_of(answer)[1], "this account is suspended")


class Rs256Issuer(Exchange, h.ServerTestCase):
    server_args = ("--external-issuer", ISSUER, "--external-key", os.path.join(KEYS, "rsa.pub"),
                   "--external-audience", "natter", "--registration", "closed")

    def test_rs256_tokens_make_accounts_even_when_registration_is_closed(self):
        made = self.exchange(token(RSA, "RS256", sub="r-1", preferred_username="rsauser", aud=["x", "natter"]))
        self.assertGreater(made["user_id"], 0)
        self.assertEqual(self.exchange(token(RSA, "RS256", sub="r-1"))["user_id"], made["user_id"])
        self.exchange(token(ED, "EdDSA", sub="r-1"), expect=401)
        # Algorithm confusion: HS256 "signed" with the public key the server holds.
        import hmac
        import hashlib
        with open(os.path.join(KEYS, "rsa.pub"), "rb") as f:
            public = f.read()
        body = {"iss": ISSUER, "aud": "natter", "sub": "r-1", "exp": int(time.time()) + 600}
        signed = f"{b64(json.dumps({'alg': 'HS256'}).encode())}.{b64(json.dumps(body).encode())}"
        mac = hmac.new(public, signed.encode(), hashlib.sha256).digest()
        self.assertIn("alg must be RS256", h.error_of(self.exchange(f"{signed}.{b64(mac)}", expect=401))[1])
        self.assertEqual(self.server.register("walkin", "pw-walkin-secret")[0], 403)


class NoIssuer(Exchange, h.ServerTestCase):
    def test_without_an_issuer_nothing_is_exchanged(self):
        self.exchange(token(ED, "EdDSA", sub="n-1", preferred_username="nobody"), expect=404)


if __name__ == "__main__":
    h.main()
