// AWS Signature Version 4: the canonical request, the string to sign and the
// signature, in the two forms S3 takes: an Authorization header (natterd's own
// calls to the store) and a presigned query string (a URL handed to a client,
// which then needs no credentials). Checked against AWS's published test
// vectors (tests/media/sigv4_test.cc).
//
// Paths and query params are given decoded; the signer encodes them as AWS
// does (RFC 3986 unreserved characters kept, everything else %XX, '/' kept in
// paths). Paths are encoded once, as S3 requires.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace natter::media {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // temporary credentials only
};

struct SigV4Scope {
  std::string region;  // "us-east-1"
  std::string service = "s3";
  int64_t time_s = 0;  // the signing time, seconds since the epoch
};

struct SigV4Request {
  std::string method;                                        // "GET"
  std::string path;                                          // decoded, starting with '/'
  std::vector<std::pair<std::string, std::string>> query;    // decoded names and values
  std::vector<std::pair<std::string, std::string>> headers;  // "host" among them
  // Hex SHA-256 of the body, or "UNSIGNED-PAYLOAD" (presigned S3 URLs).
  std::string payload_hash;
};

inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
// Hex SHA-256 of nothing: a request without a body.
inline constexpr std::string_view kEmptyPayloadHash =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// RFC 3986 percent-encoding as SigV4 wants it; '/' is kept when `keep_slash`.
std::string AwsUriEncode(std::string_view s, bool keep_slash);
std::string HexSha256(std::string_view bytes);
// "20150830T123600Z"
std::string AmzDate(int64_t time_s);

// The canonical request of `req` as it stands (its headers, its query).
std::string CanonicalRequest(const SigV4Request& req);
std::string StringToSign(const SigV4Request& req, const SigV4Scope& scope);
// Hex HMAC-SHA256 of the string to sign under the scope's derived key.
std::string Signature(const SigV4Request& req, const SigV4Scope& scope, const AwsCredentials& creds);

// Header form: adds x-amz-date (and x-amz-security-token with temporary
// credentials) to `req`'s headers and returns the Authorization header value.
std::string SignWithHeader(SigV4Request& req, const SigV4Scope& scope, const AwsCredentials& creds);

// Query form: adds the X-Amz-* params (valid for `expires_s`) and the
// signature to `req`'s query; returns the whole query string, encoded, in the
// order the params were given with the signature last.
std::string Presign(SigV4Request& req, const SigV4Scope& scope, const AwsCredentials& creds, int64_t expires_s);

}  // namespace natter::media
