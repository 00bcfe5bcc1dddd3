#include "media/sigv4.h"

#include <sodium.h>

#include <algorithm>
#include <ctime>
#include <map>

namespace natter::media {
namespace {

std::string Hex(const unsigned char* bytes, size_t n) {
  std::string out(n * 2, '\0');
  static constexpr char kDigits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
  return out;
}

std::string Hmac(std::string_view key, std::string_view data) {
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  crypto_auth_hmacsha256_final(&state, mac);
  return std::string(reinterpret_cast<const char*>(mac), sizeof mac);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// Leading and trailing spaces gone, inner runs of spaces one space.
std::string TrimAll(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::string DateOf(int64_t time_s) { return AmzDate(time_s).substr(0, 8); }

std::string CredentialScope(const SigV4Scope& scope) {
  return DateOf(scope.time_s) + "/" + scope.region + "/" + scope.service + "/aws4_request";
}

// Lowercase name -> values joined by ',' (a repeated header is one line).
std::map<std::string, std::string> CanonicalHeaderMap(const SigV4Request& req) {
  std::map<std::string, std::string> headers;
  for (const auto& [name, value] : req.headers) {
    std::string& line = headers[Lower(name)];
    if (!line.empty()) line += ',';
    line += TrimAll(value);
  }
  return headers;
}

std::string SignedHeaders(const SigV4Request& req) {
  std::string out;
  for (const auto& [name, value] : CanonicalHeaderMap(req)) {
    if (!out.empty()) out += ';';
    out += name;
  }
  return out;
}

}  // namespace

std::string AwsUriEncode(std::string_view s, bool keep_slash) {
  std::string out;
  out.reserve(s.size());
  static constexpr char kDigits[] = "0123456789ABCDEF";
  for (unsigned char c : s) {
    bool unreserved = std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
    if (unreserved || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kDigits[c >> 4];
      out += kDigits[c & 0xf];
    }
  }
  return out;
}

std::string HexSha256(std::string_view bytes) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return Hex(digest, sizeof digest);
}

std::string AmzDate(int64_t time_s) {
  std::time_t t = static_cast<std::time_t>(time_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[17];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string CanonicalRequest(const SigV4Request& req) {
  std::vector<std::pair<std::string, std::string>> query;
  query.reserve(req.query.size());
  for (const auto& [name, value] : req.query) query.emplace_back(AwsUriEncode(name, false), AwsUriEncode(value, false));
  std::sort(query.begin(), query.end());
  std::string out = req.method + "\n" + AwsUriEncode(req.path, true) + "\n";
  for (size_t i = 0; i < query.size(); ++i) {
    if (i > 0) out += '&';
    out += query[i].first + "=" + query[i].second;
  }
  out += '\n';
  for (const auto& [name, value] : CanonicalHeaderMap(req)) out += name + ":" + value + "\n";
  out += "\n" + SignedHeaders(req) + "\n" + req.payload_hash;
  return out;
}

std::string StringToSign(const SigV4Request& req, const SigV4Scope& scope) {
  return "AWS4-HMAC-SHA256\n" + AmzDate(scope.time_s) + "\n" + CredentialScope(scope) + "\n" +
         HexSha256(CanonicalRequest(req));
}

std::string Signature(const SigV4Request& req, const SigV4Scope& scope, const AwsCredentials& creds) {
  std::string key = Hmac("AWS4" + creds.secret_access_key, DateOf(scope.time_s));
  key = Hmac(key, scope.region);
  key = Hmac(key, scope.service);
  key = Hmac(key, "aws4_request");
  std::string mac = Hmac(key, StringToSign(req, scope));
  return Hex(reinterpret_cast<const unsigned char*>(mac.data()), mac.size());
}

std::string SignWithHeader(SigV4Request& req, const SigV4Scope& scope, const AwsCredentials& creds) {
  req.headers.emplace_back("x-amz-date", AmzDate(scope.time_s));
  if (!creds.session_token.empty()) req.headers.emplace_back("x-amz-security-token", creds.session_token);
  return "AWS4-HMAC-SHA256 Credential=" + creds.access_key_id + "/" + CredentialScope(scope) +
         ", SignedHeaders=" + SignedHeaders(req) + ", Signature=" + Signature(req, scope, creds);
}

std::string Presign(SigV4Request& req, const SigV4Scope& scope, const AwsCredentials& creds, int64_t expires_s) {
  req.query.emplace_back("X-Amz-Algorithm", "AWS4-HMAC-SHA256");
  req.query.emplace_back("X-Amz-Credential", creds.access_key_id + "/" + CredentialScope(scope));
  req.query.emplace_back("X-Amz-Date", AmzDate(scope.time_s));
  req.query.emplace_back("X-Amz-SignedHeaders", SignedHeaders(req));
  req.query.emplace_back("X-Amz-Expires", std::to_string(expires_s));
  if (!creds.session_token.empty()) req.query.emplace_back("X-Amz-Security-Token", creds.session_token);
  req.query.emplace_back("X-Amz-Signature", Signature(req, scope, creds));
  std::string out;
  for (const auto& [name, value] : req.query) {
    if (!out.empty()) out += '&';
    out += AwsUriEncode(name, false) + "=" + AwsUriEncode(value, false);
  }
  return out;
}

}  // namespace natter::media
