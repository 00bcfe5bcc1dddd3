#include "api/sync_token.h"

#include <sodium.h>

#include <charconv>

#include "auth/base64url.h"

namespace natter::api {
namespace {

// v1.<kid>.<base64url payload>.<base64url HMAC-SHA256 over "v1.<kid>.<payload>">
// payload: "<user>;<pts>[/<pts>...];<conv>:<seq>,<conv>:<seq>...[;<last_activity>.<id>]"
// (a pts per store partition; the last part while a fresh sync is listing)
constexpr size_t kMaxTokenBytes = 64 * 1024;
constexpr size_t kMaxPartitions = 1024;

std::string Mac(const auth::SigningKey& key, std::string_view signed_part) {
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key.secret.data()), key.secret.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size());
  crypto_auth_hmacsha256_final(&state, mac);
  return std::string(reinterpret_cast<const char*>(mac), sizeof(mac));
}

bool ParseInt(std::string_view s, int64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out >= 0;
}

Error Invalid() { return BadRequest("invalid sync token"); }

}  // namespace

std::string EncodeSyncToken(const auth::KeyRing& keys, UserId user, const chat::SyncPosition& position) {
  std::string payload = std::to_string(user) + ";";
  for (size_t i = 0; i < position.pts.size(); ++i) {
    if (i > 0) payload += "/";
    payload += std::to_string(position.pts[i]);
  }
  payload += ";";
  bool first = true;
  for (const auto& [conv, seq] : position.by_seq) {
    if (!first) payload += ",";
    first = false;
    payload += std::to_string(conv) + ":" + std::to_string(seq);
  }
  if (position.listing) {
    payload += ";" + std::to_string(position.listing->last_activity) + "." + std::to_string(position.listing->id);
  }
  const auth::SigningKey& key = keys.current();
  std::string signed_part = "v1." + key.kid + "." + auth::Base64UrlEncode(payload);
  return signed_part + "." + auth::Base64UrlEncode(Mac(key, signed_part));
}

Result<std::optional<chat::SyncPosition>> DecodeSyncToken(const auth::KeyRing& keys, UserId user,
                                                          std::string_view token) {
  if (token.size() > kMaxTokenBytes) return Invalid();
  size_t last_dot = token.rfind('.');
  if (last_dot == std::string_view::npos || token.substr(0, 3) != "v1.") return Invalid();
  std::string_view signed_part = token.substr(0, last_dot);
  size_t kid_end = signed_part.find('.', 3);
  if (kid_end == std::string_view::npos) return Invalid();
  const auth::SigningKey* key = keys.Find(signed_part.substr(3, kid_end - 3));
  if (!key) return std::optional<chat::SyncPosition>();
  auto mac = auth::Base64UrlDecode(token.substr(last_dot + 1));
  std::string expected = Mac(*key, signed_part);
  // Check the signature before reading anything the token says.
  if (!mac || mac->size() != expected.size() || sodium_memcmp(mac->data(), expected.data(), expected.size()) != 0) {
    return Invalid();
  }
  auto payload = auth::Base64UrlDecode(signed_part.substr(kid_end + 1));
  if (!payload) return Invalid();
  std::string_view p = *payload;
  size_t a = p.find(';'), b = a == std::string_view::npos ? a : p.find(';', a + 1);
  if (b == std::string_view::npos) return Invalid();
  int64_t token_user = 0;
  chat::SyncPosition position;
  if (!ParseInt(p.substr(0, a), token_user)) return Invalid();
  for (std::string_view pts = p.substr(a + 1, b - a - 1);;) {
    size_t slash = pts.find('/');
    int64_t value = 0;
    if (!ParseInt(pts.substr(0, slash), value) || position.pts.size() >= kMaxPartitions) return Invalid();
    position.pts.push_back(value);
    if (slash == std::string_view::npos) break;
    pts.remove_prefix(slash + 1);
  }
  if (token_user != user) return Invalid();  // the same answer as a forgery: nothing to learn
  std::string_view rest = p.substr(b + 1);
  if (size_t c = rest.find(';'); c != std::string_view::npos) {
    std::string_view listing = rest.substr(c + 1);
    rest = rest.substr(0, c);
    size_t dot = listing.find('.');
    ListCursor cursor;
    if (dot == std::string_view::npos || !ParseInt(listing.substr(0, dot), cursor.last_activity) ||
        !ParseInt(listing.substr(dot + 1), cursor.id)) {
      return Invalid();
    }
    position.listing = cursor;
  }
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    size_t colon = item.find(':');
    int64_t conv = 0, seq = 0;
    if (colon == std::string_view::npos || !ParseInt(item.substr(0, colon), conv) ||
        !ParseInt(item.substr(colon + 1), seq)) {
      return Invalid();
    }
    position.by_seq[conv] = seq;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return std::optional<chat::SyncPosition>(std::move(position));
}

}  // namespace natter::api
