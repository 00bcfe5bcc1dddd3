"""Local stand-ins for the push providers, checking requests the way the real
services do: APNs (the HTTP/2 provider API, token-based auth) and FCM HTTP v1
(the OAuth 2.0 token endpoint and messages:send), on one HTTP/2-over-TLS
server with a test CA. Each verifies the JWTs against the test keys, the
claims, the headers and the JSON shape, records what it accepted, and answers
whatever error a test scripts for a device token."""

import base64
import json
import os
import secrets
import socket
import ssl
import threading
import time
import urllib.parse

import h2.config
import h2.connection
import h2.events
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
APNS_KEY_ID = "ABC123DEFG"
APNS_TEAM_ID = "DEF123GHIJ"
APNS_TOPIC = "org.natter.testapp"
FCM_PROJECT = "natter-test"
FCM_EMAIL = "natter-push@natter-test.iam.gserviceaccount.com"


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Refused(Exception):
    def __init__(self, status, reason):
        super().__init__(f"{status} {reason}")
        self.status, self.reason = status, reason


def split_jwt(token):
    parts = token.split(".")
    if len(parts) != 3:
        raise Refused(403, "InvalidProviderToken")
    header, claims = json.loads(b64url_decode(parts[0])), json.loads(b64url_decode(parts[1]))
    return header, claims, (parts[0] + "." + parts[1]).encode(), b64url_decode(parts[2])


class PushStandins:
    """APNs and FCM on https://localhost:<port>. `answers[token]` is a list of
    (status, body dict, headers dict[, delay s]) served in order for that
    device token before the default success. `requests` records what was
    accepted; `connections` counts TLS connections (HTTP/2 reuses one)."""

    def __init__(self, directory, ca):
        self.dir = directory
        self.apns_key = ec.generate_private_key(ec.SECP256R1())
        self.fcm_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.apns_key_file = os.path.join(directory, "AuthKey_test.p8")
        with open(self.apns_key_file, "wb") as f:
            f.write(self.apns_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))
        cert, key = ca.issue("push-standin", ["localhost"])
        self.ca_file = ca.cert
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = f"https://localhost:{self.port}"
        self.token_uri = self.url + "/token"
        self.service_account_file = os.path.join(directory, "service-account.json")
        with open(self.service_account_file, "w") as f:
            json.dump({
                "type": "service_account", "project_id": FCM_PROJECT, "private_key_id": "k1",
                "private_key": self.fcm_key.private_bytes(serialization.Encoding.PEM,
                                                          serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()).decode(),
                "client_email": FCM_EMAIL, "client_id": "1", "token_uri": self.token_uri,
            }, f)
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.load_cert_chain(cert, key)
        self.tls.set_alpn_protocols(["h2"])
        self.lock = threading.Lock()
        self.requests = []  # dicts: provider, token, headers, payload, at
        self.refusals = []  # (path, status, reason) of requests refused for a defect
        self.answers = {}
        self.access_tokens = set()
        self.token_grants = 0
        self.connections = 0
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    # -- what natterd needs ----------------------------------------------------

    def natterd_args(self, apns=True, fcm=True):
        args = ["--push-ca-file", self.ca_file]
        if apns:
            args += ["--apns-key-file", self.apns_key_file, "--apns-key-id", APNS_KEY_ID, "--apns-team-id",
                     APNS_TEAM_ID, "--apns-topic", APNS_TOPIC, "--apns-url", self.url,
                     "--apns-sandbox-url", self.url + "/sandbox"]
        if fcm:
            args += ["--fcm-service-account", self.service_account_file, "--fcm-url", self.url]
        return args

    # -- what tests read -------------------------------------------------------

    def received(self, token=None):
        with self.lock:
            return [r for r in self.requests if token is None or r["token"] == token]

    def wait_for(self, count, token=None, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.received(token)
            if len(got) >= count:
                return got
            time.sleep(0.05)
        return self.received(token)

    def script(self, token, *answers):
        with self.lock:
            self.answers.setdefault(token, []).extend(answers)

    def close(self):
        self.stopped = True
        self.sock.close()

    # -- the server ------------------------------------------------------------

    def _accept(self):
        while not self.stopped:
            try:
                raw, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw):
        try:
            sock = self.tls.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            return
        if sock.selected_alpn_protocol() != "h2":  # APNs speaks only HTTP/2
            sock.close()
            return
        with self.lock:
            self.connections += 1
        conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False))
        conn.initiate_connection()
        sock.sendall(conn.data_to_send())
        streams = {}
        state = {}  # what this connection has seen
        try:
            while not self.stopped:
                data = sock.recv(65536)
                if not data:
                    return
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.RequestReceived):
                        streams[event.stream_id] = {"headers": {k.decode(): v.decode() for k, v in event.headers},
                                                    "body": b""}
                    elif isinstance(event, h2.events.DataReceived):
                        streams[event.stream_id]["body"] += event.data
                        conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                    elif isinstance(event, h2.events.StreamEnded):
                        req = streams.pop(event.stream_id)
                        status, body, headers = self._answer(req["headers"], req["body"], state)
                        out = [(":status", str(status)), ("content-type", "application/json")]
                        out += list(headers.items())
                        payload = json.dumps(body).encode() if body is not None else b""
                        conn.send_headers(event.stream_id, out, end_stream=not payload)
                        if payload:
                            conn.send_data(event.stream_id, payload, end_stream=True)
                sock.sendall(conn.data_to_send())
        except (OSError, ssl.SSLError):
            pass
        finally:
            sock.close()

    def _answer(self, headers, body, connection):
        path = headers.get(":path", "")
        try:
            if path.startswith("/3/device/") or path.startswith("/sandbox/3/device/"):
                return self._apns(headers, body, sandbox=path.startswith("/sandbox"), connection=connection)
            if path == "/token":
                return self._token(headers, body)
            if path.startswith("/v1/projects/"):
                return self._fcm(headers, body)
            raise Refused(404, "BadPath")
        except Refused as e:
            with self.lock:
                self.refusals.append((path, e.status, e.reason))
            if path.startswith("/v1/") or path == "/token":
                status = {401: "UNAUTHENTICATED", 404: "NOT_FOUND"}.get(e.status, "INVALID_ARGUMENT")
                return e.status, {"error": {"code": e.status, "message": e.reason, "status": status}}, {}
            return e.status, {"reason": e.reason}, {}

    def _scripted(self, token):
        """The next scripted (status, body, headers) for `token`; a fourth item
        is seconds to wait before answering (a provider that hangs)."""
        with self.lock:
            queue = self.answers.get(token)
            answer = queue.pop(0) if queue else None
        if answer and len(answer) > 3:
            time.sleep(answer[3])
        return answer[:3] if answer else None

    # APNs: https://developer.apple.com/documentation/usernotifications/sending-notification-requests-to-apns
    def _apns(self, headers, body, sandbox, connection):
        if headers.get(":method") != "POST":
            raise Refused(405, "MethodNotAllowed")
        auth = headers.get("authorization", "")
        if not auth.startswith("bearer "):
            raise Refused(403, "MissingProviderToken")
        header, claims, signed, signature = split_jwt(auth[len("bearer "):])
        if header.get("alg") != "ES256" or header.get("kid") != APNS_KEY_ID:
            raise Refused(403, "InvalidProviderToken")
        if claims.get("iss") != APNS_TEAM_ID or abs(time.time() - claims.get("iat", 0)) > 3600:
            raise Refused(403, "ExpiredProviderToken" if claims.get("iss") == APNS_TEAM_ID else "InvalidProviderToken")
        if len(signature) != 64:
            raise Refused(403, "InvalidProviderToken")
        der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
        try:
            self.apns_key.public_key().verify(der, signed, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise Refused(403, "InvalidProviderToken")
        # Apple refuses a provider token renewed more often than every 20 minutes on a connection.
        seen = connection.setdefault("provider_iat", claims["iat"])
        if claims["iat"] != seen:
            if abs(claims["iat"] - seen) < 1200:
                raise Refused(429, "TooManyProviderTokenUpdates")
            connection["provider_iat"] = claims["iat"]
        token = headers[":path"].rsplit("/", 1)[1]
        if len(token) != 64 or any(c not in "0123456789abcdef" for c in token):
            raise Refused(400, "BadDeviceToken")
        if headers.get("apns-topic") != APNS_TOPIC:
            raise Refused(400, "MissingTopic" if "apns-topic" not in headers else "TopicDisallowed")
        push_type = headers.get("apns-push-type")
        if push_type not in ("alert", "background"):
            raise Refused(400, "InvalidPushType")
        priority = headers.get("apns-priority", "10")
        if priority not in ("5", "10") or (push_type == "background" and priority != "5"):
            raise Refused(400, "BadPriority")
        if "apns-expiration" in headers and not headers["apns-expiration"].isdigit():
            raise Refused(400, "BadExpirationDate")
        if len(headers.get("apns-collapse-id", "")) > 64:
            raise Refused(400, "BadCollapseId")
        if len(body) > 4096:
            raise Refused(413, "PayloadTooLarge")
        try:
            payload = json.loads(body)
        except ValueError:
            raise Refused(400, "PayloadEmpty" if not body else "BadPayload")
        aps = payload.get("aps")
        if not isinstance(aps, dict):
            raise Refused(400, "BadPayload")
        if push_type == "background" and aps != {"content-available": 1}:
            raise Refused(400, "BadPayload")  # Apple: content-available alone, no alert, sound or badge
        scripted = self._scripted(token)
        if scripted:
            return scripted
        with self.lock:
            self.requests.append({"provider": "apns", "token": token, "headers": headers, "payload": payload,
                                  "sandbox": sandbox, "at": time.monotonic()})
        return 200, None, {"apns-id": secrets.token_hex(16)}

    # Google OAuth 2.0 for service accounts: https://developers.google.com/identity/protocols/oauth2/service-account
    def _token(self, headers, body):
        if headers.get("content-type", "").split(";")[0] != "application/x-www-form-urlencoded":
            raise Refused(400, "invalid_request")
        form = urllib.parse.parse_qs(body.decode())
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"] or "assertion" not in form:
            raise Refused(400, "unsupported_grant_type")
        header, claims, signed, signature = split_jwt(form["assertion"][0])
        if header.get("alg") != "RS256":
            raise Refused(400, "invalid_grant")
        try:
            self.fcm_key.public_key().verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise Refused(400, "invalid_grant")
        now = time.time()
        if (claims.get("iss") != FCM_EMAIL or claims.get("aud") != self.token_uri or claims.get("scope") != FCM_SCOPE
                or not claims.get("iat", 0) - 300 <= now <= claims.get("exp", 0)
                or claims["exp"] - claims["iat"] > 3600):
            raise Refused(400, "invalid_grant")
        access = "ya29." + secrets.token_urlsafe(32)
        with self.lock:
            self.access_tokens.add(access)
            self.token_grants += 1
        return 200, {"access_token": access, "expires_in": 3599, "token_type": "Bearer"}, {}

    # FCM HTTP v1: https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages/send
    def _fcm(self, headers, body):
        if headers.get(":path") != f"/v1/projects/{FCM_PROJECT}/messages:send" or headers.get(":method") != "POST":
            raise Refused(404, "NOT_FOUND")
        auth = headers.get("authorization", "")
        with self.lock:
            known = auth.startswith("Bearer ") and auth[len("Bearer "):] in self.access_tokens
        if not known:
            raise Refused(401, "UNAUTHENTICATED")
        try:
            message = json.loads(body)["message"]
        except (ValueError, KeyError, TypeError):
            raise Refused(400, "INVALID_ARGUMENT")
        if sum(k in message for k in ("token", "topic", "condition")) != 1:
            raise Refused(400, "INVALID_ARGUMENT")
        data = message.get("data", {})
        if not all(isinstance(v, str) for v in data.values()):
            raise Refused(400, "INVALID_ARGUMENT")
        android = message.get("android", {})
        if android.get("priority", "NORMAL") not in ("NORMAL", "HIGH"):
            raise Refused(400, "INVALID_ARGUMENT")
        ttl = android.get("ttl", "0s")
        if not (ttl.endswith("s") and ttl[:-1].replace(".", "", 1).isdigit()):
            raise Refused(400, "INVALID_ARGUMENT")
        token = message["token"]
        scripted = self._scripted(token)
        if scripted:
            return scripted
        with self.lock:
            self.requests.append({"provider": "fcm", "token": token, "headers": headers, "payload": message,
                                  "at": time.monotonic()})
        return 200, {"name": f"projects/{FCM_PROJECT}/messages/{secrets.token_hex(8)}"}, {}


def fcm_error(status, code, fcm_code=None, field=None):
    """An FCM v1 error body, as the service answers it."""
    details = []
    if fcm_code:
        details.append({"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": fcm_code})
    if field:
        details.append({"@type": "type.googleapis.com/google.rpc.BadRequest",
                        "fieldViolations": [{"field": field, "description": "Invalid registration token"}]})
    return {"error": {"code": status, "message": code, "status": code, "details": details}}


def main():
    """Serves the stand-ins until SIGTERM (for benchmarks): prints the natterd
    flags that point at them on one line, then waits."""
    import signal
    import sys
    from client_harness import TestCA
    directory = sys.argv[1]
    standins = PushStandins(directory, TestCA(directory, "push-ca"))
    print(" ".join(standins.natterd_args()), flush=True)
    signal.sigwait([signal.SIGTERM, signal.SIGINT])
    standins.close()
    print(f"accepted {len(standins.received())} notifications", file=sys.stderr)


if __name__ == "__main__":
    main()
