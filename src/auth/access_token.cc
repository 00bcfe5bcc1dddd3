#include "auth/access_token.h"

#include <sodium.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <optional>
#include <stdexcept>

#include "auth/base64url.h"
#include "auth/random_bytes.h"

namespace natter::auth {
namespace {

constexpr std::string_view kAlgorithm = "HS256";
constexpr size_t kJtiRandomBytes = 16;

Error Invalid(std::string_view reason) { return Unauthorized("invalid token: " + std::string(reason)); }

std::string HmacSha256(std::string_view key, std::string_view message) {
  EnsureSodiumInitialized();
  crypto_auth_hmacsha256_state state;
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  // The streaming API accepts keys of any length, unlike
  // crypto_auth_hmacsha256() which wants exactly 32 bytes.
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(message.data()), message.size());
  crypto_auth_hmacsha256_final(&state, mac);
  sodium_memzero(&state, sizeof state);  // it holds key-derived pads
  return std::string(reinterpret_cast<const char*>(mac), sizeof mac);
}

std::string_view View(const boost::json::string& s) { return std::string_view(s.data(), s.size()); }

// Decodes one base64url segment into a JSON object. Any decoding or parsing
// problem yields nullopt; boost::json's error_code overload does not throw on
// bad input, and the catch covers allocation failure so that Verify() keeps
// its never-throws promise. For duplicate member names boost::json keeps the
// lexically last one, which RFC 7519 section 4 permits; the header and the
// claims are both read through this one parser, so there is one consistent
// view of each.
std::optional<boost::json::object> DecodeJsonObject(std::string_view segment) {
  std::optional<std::string> bytes = Base64UrlDecode(segment);
  if (!bytes) return std::nullopt;
  try {
    boost::system::error_code ec;
    boost::json::value value = boost::json::parse(*bytes, ec);
    if (ec || !value.is_object()) return std::nullopt;
    return std::move(value.get_object());
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// The string member `name`, or nullopt if it is absent or not a string.
std::optional<std::string_view> StringMember(const boost::json::object& object, std::string_view name) {
  const boost::json::value* value = object.if_contains(name);
  if (value == nullptr || !value->is_string()) return std::nullopt;
  return View(value->get_string());
}

// The integer member `name`, or nullopt if it is absent or not an integer
// that fits int64. Fractional NumericDates are legal in RFC 7519 but we never
// issue them, so they are refused rather than rounded.
std::optional<int64_t> IntMember(const boost::json::object& object, std::string_view name) {
  const boost::json::value* value = object.if_contains(name);
  if (value == nullptr || !value->is_int64()) return std::nullopt;
  return value->get_int64();
}

// "sub" holds the user id as a canonical decimal: digits only, no sign, no
// leading zero, positive and within int64.
std::optional<int64_t> ParseUserId(std::string_view text) {
  if (text.empty() || text.front() == '0') return std::nullopt;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  int64_t id = 0;
  const char* const last = text.data() + text.size();
  const auto [end, ec] = std::from_chars(text.data(), last, id);
  if (ec != std::errc() || end != last) return std::nullopt;
  return id;
}

bool AudienceMatches(const boost::json::value* aud, std::string_view ours) {
  if (aud == nullptr) return false;
  if (aud->is_string()) return View(aud->get_string()) == ours;
  if (!aud->is_array()) return false;
  for (const boost::json::value& entry : aud->get_array()) {
    if (entry.is_string() && View(entry.get_string()) == ours) return true;
  }
  return false;
}

// Case-insensitive ASCII comparison: RFC 7515 section 4.1.9 recommends
// comparing "typ" values that way.
bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// Validates the header and returns the key it names. Only the members we
// issue are allowed: extension members such as "crit" or key-carrying ones
// such as "jku"/"jwk"/"x5u" would let a token steer its own verification.
Result<const SigningKey*> CheckHeader(const boost::json::object& header, const KeyRing& keys) {
  for (const auto& member : header) {
    const std::string_view name(member.key().data(), member.key().size());
    if (name != "alg" && name != "typ" && name != "kid") {
      return Invalid("unsupported header");
    }
  }
  const std::optional<std::string_view> alg = StringMember(header, "alg");
  // Exact comparison against a fixed list of one: "none", "hs256", "HS512",
  // "RS256" and everything else are refused (RFC 8725 section 3.1).
  if (!alg || *alg != kAlgorithm) return Invalid("unsupported algorithm");
  if (header.contains("typ")) {
    const std::optional<std::string_view> typ = StringMember(header, "typ");
    if (!typ || !EqualsIgnoringCase(*typ, "JWT")) {
      return Invalid("unsupported header");
    }
  }
  const std::optional<std::string_view> kid = StringMember(header, "kid");
  const SigningKey* key = kid ? keys.Find(*kid) : nullptr;
  if (key == nullptr) return Invalid("unknown key");
  return key;
}

}  // namespace

AccessTokenCodec::AccessTokenCodec(const KeyRing& keys, TokenPolicy policy) : keys_(keys), policy_(std::move(policy)) {
  if (policy_.ttl_seconds <= 0) {
    throw std::invalid_argument("access token ttl must be positive");
  }
  if (policy_.leeway_seconds < 0) {
    throw std::invalid_argument("access token leeway must not be negative");
  }
}

std::string AccessTokenCodec::Issue(int64_t user_id, int64_t session_id, int64_t now) const {
  const SigningKey& key = keys_.current();
  const boost::json::object header{{"alg", kAlgorithm}, {"typ", "JWT"}, {"kid", key.kid}};
  const boost::json::object payload{
      {"iss", policy_.issuer},
      {"aud", policy_.audience},
      {"sub", std::to_string(user_id)},
      {"sid", session_id},
      {"iat", now},
      {"nbf", now},
      {"exp", ExpiresAt(now)},
      {"jti", Base64UrlEncode(RandomBytes(kJtiRandomBytes))},
  };
  std::string token = Base64UrlEncode(boost::json::serialize(header));
  token += '.';
  token += Base64UrlEncode(boost::json::serialize(payload));
  const std::string signature = HmacSha256(key.secret, token);
  token += '.';
  token += Base64UrlEncode(signature);
  return token;
}

Result<AccessClaims> AccessTokenCodec::Verify(std::string_view token, int64_t now) const {
  if (token.size() > kMaxAccessTokenBytes) return Invalid("too long");

  // Compact form: exactly three segments separated by two dots.
  const size_t first_dot = token.find('.');
  if (first_dot == std::string_view::npos) return Invalid("malformed");
  const size_t second_dot = token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos || token.find('.', second_dot + 1) != std::string_view::npos) {
    return Invalid("malformed");
  }
  const std::string_view header_segment = token.substr(0, first_dot);
  const std::string_view payload_segment = token.substr(first_dot + 1, second_dot - first_dot - 1);
  const std::string_view signature_segment = token.substr(second_dot + 1);
  const std::string_view signing_input = token.substr(0, second_dot);

  // The header must be read to choose the key, but it only selects among
  // keys we hold and an algorithm we fixed; nothing else is read from the
  // token before the signature checks out.
  const std::optional<boost::json::object> header = DecodeJsonObject(header_segment);
  if (!header) return Invalid("malformed");
  NATTER_TRY(const SigningKey* key, CheckHeader(*header, keys_));

  const std::optional<std::string> signature = Base64UrlDecode(signature_segment);
  const std::string expected = HmacSha256(key->secret, signing_input);
  // The lengths are public; the comparison of the bytes is constant-time so
  // response timing reveals nothing about the expected MAC.
  if (!signature || signature->size() != expected.size() ||
      sodium_memcmp(signature->data(), expected.data(), expected.size()) != 0) {
    return Invalid("bad signature");
  }

  // From here on the payload is authentic: it was produced by us.
  const std::optional<boost::json::object> claims = DecodeJsonObject(payload_segment);
  if (!claims) return Invalid("malformed");

  const std::optional<std::string_view> issuer = StringMember(*claims, "iss");
  if (!issuer || *issuer != policy_.issuer) return Invalid("bad issuer");
  if (!AudienceMatches(claims->if_contains("aud"), policy_.audience)) {
    return Invalid("bad audience");
  }
  const std::optional<std::string_view> sub = StringMember(*claims, "sub");
  const std::optional<int64_t> user_id = sub ? ParseUserId(*sub) : std::nullopt;
  if (!user_id) return Invalid("bad subject");
  const std::optional<int64_t> session_id = IntMember(*claims, "sid");
  if (!session_id || *session_id <= 0) return Invalid("bad session");

  const std::optional<int64_t> issued_at = IntMember(*claims, "iat");
  const std::optional<int64_t> expires_at = IntMember(*claims, "exp");
  if (!issued_at || !expires_at || *expires_at < *issued_at ||
      (claims->contains("nbf") && !IntMember(*claims, "nbf"))) {
    return Invalid("bad time claims");
  }
  // Only now +/- leeway is computed, never claim +/- leeway, so a huge claim
  // value cannot overflow.
  const int64_t latest_acceptable = now + policy_.leeway_seconds;
  if (*issued_at > latest_acceptable) return Invalid("issued in the future");
  if (const std::optional<int64_t> not_before = IntMember(*claims, "nbf");
      not_before && *not_before > latest_acceptable) {
    return Invalid("not yet valid");
  }
  // Expiry is checked last so that kTokenExpiredMessage only ever describes
  // a token that is valid in every other respect (RFC 7519: the current time
  // must be before exp).
  if (now - policy_.leeway_seconds >= *expires_at) {
    return TokenExpired();
  }

  return AccessClaims{*user_id, *session_id, *issued_at, *expires_at};
}

}  // namespace natter::auth
