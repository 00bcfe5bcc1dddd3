"""A local stand-in for an S3-compatible object store, checking requests the
way S3 does: every request must carry a valid AWS Signature Version 4 (the
Authorization header, or a presigned query string that has not expired) for
the configured key, region and service; the signed headers (among them the
Content-Length a presigned part URL fixes) must be the ones sent; a payload
hash that is given must match the body. It serves the calls natterd and its
clients make: objects (PUT, GET with Range and response-* overrides, HEAD,
DELETE, copy) and multipart uploads (create, upload part, complete with
ETag and part-size checks, abort), path-style and virtual-host style.

The signature check is written here from the SigV4 specification, apart
from natterd's signer, and checked at import against the example in the S3
documentation (presigned GET of test.txt, "Authenticating Requests: Using
Query Parameters"), so the two cannot agree on a shared mistake."""

import hashlib
import hmac
import http.server
import re
import secrets
import threading
import time
import urllib.parse
from datetime import datetime, timezone

ACCESS_KEY = "AKIANATTERTEST0000001"
SECRET_KEY = "natter/test/secret/key/0123456789abcdefghij"
REGION = "eu-test-1"
BUCKET = "natter-media"
MIN_PART = 5 * 1024 * 1024  # S3's smallest part, the last excepted


def uri_encode(text, keep_slash):
    safe = "-_.~" + ("/" if keep_slash else "")
    return urllib.parse.quote(text, safe=safe)


def signing_key(secret, date, region, service):
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def signature(secret, method, path, query_pairs, headers, signed, payload_hash, amz_date, scope):
    """`path` decoded; `query_pairs` decoded (name, value); `headers` a dict
    of lower-case names; `signed` the names signed, sorted."""
    canonical_query = "&".join(
        f"{uri_encode(k, False)}={uri_encode(v, False)}"
        for k, v in sorted(query_pairs, key=lambda kv: (uri_encode(kv[0], False), uri_encode(kv[1], False)))
    )
    canonical_headers = "".join(f"{name}:{' '.join(headers.get(name, '').split())}\n" for name in signed)
    canonical = "\n".join([method, uri_encode(path, True), canonical_query, canonical_headers, ";".join(signed),
                           payload_hash])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    date, region, service, _ = scope.split("/")
    return hmac.new(signing_key(secret, date, region, service), to_sign.encode(), hashlib.sha256).hexdigest()


# The S3 documentation's presigned URL example must verify.
assert signature(
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "GET", "/test.txt",
    [("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
     ("X-Amz-Credential", "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"),
     ("X-Amz-Date", "20130524T000000Z"), ("X-Amz-Expires", "86400"), ("X-Amz-SignedHeaders", "host")],
    {"host": "examplebucket.s3.amazonaws.com"}, ["host"], "UNSIGNED-PAYLOAD", "20130524T000000Z",
    "20130524/us-east-1/s3/aws4_request",
) == "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"


class S3Error(Exception):
    def __init__(self, status, code, message=""):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


def error_xml(e):
    return (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{e.code}</Code>"
            f"<Message>{e.message}</Message></Error>").encode()


def parse_amz_date(text):
    return datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc).timestamp()


class S3Standin:
    """S3 on http://127.0.0.1:<port>, one bucket, objects in memory.
    `objects[key]` holds bytes; `requests` records (method, path, query
    names, how it was signed) of every request that passed the check;
    `refusals` the codes of those that did not."""

    def __init__(self, bucket=BUCKET):
        self.bucket = bucket
        self.objects = {}
        self.uploads = {}  # upload id -> {"key":, "parts": {n: (etag, bytes)}}
        self.requests = []
        self.refusals = []
        # (method, key prefix) -> (status, code): the next such request fails.
        self.faults = {}
        # (method, key prefix): such requests get no answer until `unstall`
        # (or 30 s), then their connection is closed: a store that hangs.
        self.stalls = set()
        self.stalled = 0  # requests held so far
        self.unstalled = threading.Event()
        self.lock = threading.Lock()
        standin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _any(self):
                try:
                    standin._handle(self)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client went away (a killed test client)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def natterd_args(self, path_style=True):
        # Virtual-host style names the bucket in the host: <bucket>.localhost
        # reaches loopback without DNS (libcurl resolves *.localhost itself).
        endpoint = self.endpoint if path_style else f"http://localhost:{self.port}"
        return ["--media-backend", "s3", "--s3-endpoint", endpoint, "--s3-region", REGION, "--s3-bucket",
                self.bucket, "--s3-access-key-id", ACCESS_KEY, "--s3-secret-access-key", SECRET_KEY] + (
            ["--s3-path-style"] if path_style else [])

    def stall(self, method, prefix):
        with self.lock:
            self.unstalled.clear()
            self.stalls.add((method, prefix))

    def unstall(self):
        with self.lock:
            self.stalls.clear()
        self.unstalled.set()

    def keys(self, prefix=""):
        with self.lock:
            return sorted(k for k in self.objects if k.startswith(prefix))

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    # -- the request ------------------------------------------------------

    def _handle(self, h):
        method = h.command
        raw_path, _, raw_query = h.path.partition("?")
        query = urllib.parse.parse_qsl(raw_query, keep_blank_values=True)
        headers = {k.lower(): v for k, v in h.headers.items()}
        length = int(headers.get("content-length", "0") or 0)
        body = h.rfile.read(length) if length else b""
        try:
            host = headers.get("host", "").rsplit(":", 1)[0]
            path = urllib.parse.unquote(raw_path)
            if host.startswith(self.bucket + "."):
                bucket, key = self.bucket, path[1:]
            else:
                bucket, _, key = path[1:].partition("/")
            kind = self._authenticate(method, path, query, headers, body)
            if bucket != self.bucket:
                raise S3Error(404, "NoSuchBucket", "The specified bucket does not exist")
            with self.lock:
                self.requests.append((method, key, sorted(k for k, _ in query if not k.startswith("X-Amz-")), kind))
                for (fault_method, prefix), (status, code) in list(self.faults.items()):
                    if fault_method == method and key.startswith(prefix):
                        del self.faults[(fault_method, prefix)]
                        raise S3Error(status, code, "scripted by the test")
                stall = any(m == method and key.startswith(prefix) for m, prefix in self.stalls)
                if stall:
                    self.stalled += 1
            if stall:
                self.unstalled.wait(30)
                h.close_connection = True
                return
            status, out_headers, out = self._serve(method, key, dict(query), headers, body)
        except S3Error as e:
            with self.lock:
                self.refusals.append(e.code)
            status, out_headers, out = e.status, {"Content-Type": "application/xml"}, error_xml(e)
        h.send_response(status)
        for name, value in out_headers.items():
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(out) if method != "HEAD" else out_headers.get("X-Length", 0)))
        h.end_headers()
        if method != "HEAD":
            h.wfile.write(out)

    def _authenticate(self, method, path, query, headers, body):
        params = dict(query)
        if "X-Amz-Signature" in params:
            kind = "presigned"
            if params.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
                raise S3Error(400, "AuthorizationQueryParametersError", "X-Amz-Algorithm")
            credential, amz_date = params.get("X-Amz-Credential", ""), params.get("X-Amz-Date", "")
            signed = params.get("X-Amz-SignedHeaders", "").split(";")
            given = params["X-Amz-Signature"]
            expires = int(params.get("X-Amz-Expires", "-1"))
            if not 1 <= expires <= 604800:
                raise S3Error(400, "AuthorizationQueryParametersError", "X-Amz-Expires")
            if time.time() > parse_amz_date(amz_date) + expires:
                raise S3Error(403, "AccessDenied", "Request has expired")
            pairs = [(k, v) for k, v in query if k != "X-Amz-Signature"]
            payload = "UNSIGNED-PAYLOAD"
        elif headers.get("authorization", "").startswith("AWS4-HMAC-SHA256 "):
            kind = "header"
            fields = dict(part.strip().split("=", 1) for part in headers["authorization"][17:].split(","))
            credential, signed, given = fields["Credential"], fields["SignedHeaders"].split(";"), fields["Signature"]
            amz_date = headers.get("x-amz-date", "")
            if abs(time.time() - parse_amz_date(amz_date)) > 900:
                raise S3Error(403, "RequestTimeTooSkewed", "The difference between the request time and now is large")
            payload = headers.get("x-amz-content-sha256")
            if payload is None:
                raise S3Error(400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
            if payload != "UNSIGNED-PAYLOAD" and payload != hashlib.sha256(body).hexdigest():
                raise S3Error(400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' does not match")
            for name in ("x-amz-date", "x-amz-content-sha256"):
                if name not in signed:
                    raise S3Error(403, "AccessDenied", f"{name} must be signed")
            pairs = query
        else:
            raise S3Error(403, "AccessDenied", "Anonymous access is forbidden")
        key_id, _, scope = credential.partition("/")
        if key_id != ACCESS_KEY:
            raise S3Error(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist")
        date, region, service, terminal = (scope.split("/") + ["", "", "", ""])[:4]
        if region != REGION or service != "s3" or terminal != "aws4_request" or date != amz_date[:8]:
            raise S3Error(400, "AuthorizationHeaderMalformed", f"bad credential scope {scope}")
        if "host" not in signed or signed != sorted(signed):
            raise S3Error(403, "AccessDenied", "host must be signed, signed headers in order")
        expected = signature(SECRET_KEY, method, path, pairs, headers, signed, payload, amz_date, scope)
        if not hmac.compare_digest(expected, given):
            raise S3Error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match")
        return kind

    # -- the operations ---------------------------------------------------

    def _serve(self, method, key, q, headers, body):
        xml = {"Content-Type": "application/xml"}
        with self.lock:
            if method == "POST" and "uploads" in q:
                upload_id = secrets.token_hex(16)
                self.uploads[upload_id] = {"key": key, "parts": {}}
                return 200, xml, (f"<InitiateMultipartUploadResult><Bucket>{self.bucket}</Bucket><Key>{key}</Key>"
                                  f"<UploadId>{upload_id}</UploadId></InitiateMultipartUploadResult>").encode()
            if "uploadId" in q:
                upload = self.uploads.get(q["uploadId"])
                if upload is None or upload["key"] != key:
                    raise S3Error(404, "NoSuchUpload", "The specified upload does not exist")
                if method == "PUT" and "partNumber" in q:
                    number = int(q["partNumber"])
                    if not 1 <= number <= 10000:
                        raise S3Error(400, "InvalidArgument", "Part number must be an integer between 1 and 10000")
                    etag = '"' + hashlib.md5(body).hexdigest() + '"'
                    upload["parts"][number] = (etag, body)
                    return 200, {"ETag": etag}, b""
                if method == "POST":
                    return self._complete(key, q["uploadId"], upload, body)
                if method == "DELETE":
                    del self.uploads[q["uploadId"]]
                    return 204, {}, b""
                raise S3Error(405, "MethodNotAllowed", "The specified method is not allowed")
            if method == "PUT":
                source = headers.get("x-amz-copy-source")
                if source is not None:
                    src_bucket, _, src_key = urllib.parse.unquote(source).lstrip("/").partition("/")
                    if src_bucket != self.bucket or src_key not in self.objects:
                        raise S3Error(404, "NoSuchKey", "The specified key does not exist.")
                    body = self.objects[src_key]
                    self.objects[key] = body
                    return 200, xml, (f"<CopyObjectResult><ETag>\"{hashlib.md5(body).hexdigest()}\"</ETag>"
                                      "</CopyObjectResult>").encode()
                self.objects[key] = body
                return 200, {"ETag": '"' + hashlib.md5(body).hexdigest() + '"'}, b""
            if method == "DELETE":
                self.objects.pop(key, None)
                return 204, {}, b""
            if method in ("GET", "HEAD"):
                if key not in self.objects:
                    if method == "HEAD":
                        return 404, {}, b""
                    raise S3Error(404, "NoSuchKey", "The specified key does not exist.")
                data = self.objects[key]
                out = {"Accept-Ranges": "bytes", "Content-Type": q.get("response-content-type",
                                                                       "application/octet-stream")}
                if "response-content-disposition" in q:
                    out["Content-Disposition"] = q["response-content-disposition"]
                status = 200
                match = re.fullmatch(r"bytes=(\d+)-(\d*)", headers.get("range", ""))
                if match and int(match.group(1)) < len(data):
                    first = int(match.group(1))
                    last = min(int(match.group(2)) if match.group(2) else len(data) - 1, len(data) - 1)
                    out["Content-Range"] = f"bytes {first}-{last}/{len(data)}"
                    data, status = data[first:last + 1], 206
                out["X-Length"] = len(data)
                return status, out, data
        raise S3Error(405, "MethodNotAllowed", "The specified method is not allowed")

    def _complete(self, key, upload_id, upload, body):
        listed = re.findall(r"<Part>\s*<PartNumber>(\d+)</PartNumber>\s*<ETag>([^<]*)</ETag>\s*</Part>",
                            body.decode(errors="replace"))
        if not listed:
            raise S3Error(400, "MalformedXML", "The XML you provided was not well-formed")
        numbers = [int(n) for n, _ in listed]
        if numbers != sorted(set(numbers)):
            raise S3Error(400, "InvalidPartOrder", "The list of parts was not in ascending order")
        joined = b""
        for i, (number, etag) in enumerate(listed):
            part = upload["parts"].get(int(number))
            etag = etag.replace("&quot;", '"')
            if part is None or part[0].strip('"') != etag.strip('"'):
                raise S3Error(400, "InvalidPart", "One or more of the specified parts could not be found")
            if i < len(listed) - 1 and len(part[1]) < MIN_PART:
                raise S3Error(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed")
            joined += part[1]
        self.objects[key] = joined
        del self.uploads[upload_id]
        etag = f"\"{hashlib.md5(joined).hexdigest()}-{len(listed)}\""
        return 200, {"Content-Type": "application/xml"}, (
            f"<CompleteMultipartUploadResult><Bucket>{self.bucket}</Bucket><Key>{key}</Key><ETag>{etag}</ETag>"
            "</CompleteMultipartUploadResult>").encode()
