#include "auth/external_token.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <boost/json/parse.hpp>
#include <cmath>
#include <cstdio>

#include "auth/base64url.h"
#include "common/json_lookup.h"

namespace natter::auth {

namespace json = boost::json;

namespace {

constexpr int64_t kLeewaySeconds = 60;
// Tokens to exchange are short-lived: each one may open sessions until it expires.
constexpr int64_t kMaxLifetimeSeconds = 3600;

Error Refused(const std::string& why) { return Unauthorized("external token refused: " + why); }

std::optional<json::object> DecodePart(std::string_view part) {
  auto text = Base64UrlDecode(part);
  if (!text) return std::nullopt;
  boost::system::error_code ec;
  json::value v = json::parse(*text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

// A NumericDate claim: absent, or seconds since 1970 within reason; anything
// else (a string, a huge or negative number) makes the token malformed.
Result<std::optional<int64_t>> DateClaim(const json::object& o, const char* key) {
  constexpr double kLatest = 1e11;  // the year 5138
  const auto* v = o.if_contains(key);
  if (!v) return std::optional<int64_t>();
  double seconds = v->is_int64() ? static_cast<double>(v->as_int64()) : v->is_double() ? v->as_double() : -1;
  if (!std::isfinite(seconds) || seconds < 0 || seconds > kLatest) return Refused(std::string(key) + " is not a date");
  return std::optional<int64_t>(static_cast<int64_t>(seconds));
}

bool HoldsAudience(const json::object& o, const std::string& audience) {
  const auto* aud = o.if_contains("aud");
  if (!aud) return false;
  if (aud->is_string()) return aud->as_string() == audience;
  if (!aud->is_array()) return false;
  for (const auto& a : aud->as_array()) {
    if (a.is_string() && a.as_string() == audience) return true;
  }
  return false;
}

}  // namespace

Result<std::shared_ptr<const ExternalTokenVerifier>> ExternalTokenVerifier::Load(const ExternalIssuer& issuer) {
  if (issuer.issuer.empty()) return BadRequest("an external issuer needs its iss");
  FILE* f = std::fopen(issuer.public_key_file.c_str(), "r");
  if (!f) return BadRequest("cannot read the external issuer's key " + issuer.public_key_file);
  EVP_PKEY* key = PEM_read_PUBKEY(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (!key) {
    ERR_clear_error();
    return BadRequest(issuer.public_key_file + " holds no PEM public key");
  }
  std::string alg = EVP_PKEY_id(key) == EVP_PKEY_ED25519 ? "EdDSA" : EVP_PKEY_id(key) == EVP_PKEY_RSA ? "RS256" : "";
  if (alg.empty() || (alg == "RS256" && EVP_PKEY_get_bits(key) < 2048)) {
    EVP_PKEY_free(key);
    return BadRequest(issuer.public_key_file + ": the key must be Ed25519 or RSA of 2048 bits or more");
  }
  return std::shared_ptr<const ExternalTokenVerifier>(new ExternalTokenVerifier(issuer, key, alg));
}

ExternalTokenVerifier::~ExternalTokenVerifier() { EVP_PKEY_free(key_); }

Result<ExternalClaims> ExternalTokenVerifier::Verify(std::string_view token, int64_t now) const {
  if (token.size() > 8192) return Refused("too long");
  size_t dot1 = token.find('.');
  size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Refused("not a signed JWT");
  }
  auto header = DecodePart(token.substr(0, dot1));
  auto claims = DecodePart(token.substr(dot1 + 1, dot2 - dot1 - 1));
  auto signature = Base64UrlDecode(token.substr(dot2 + 1));
  if (!header || !claims || !signature) return Refused("malformed");
  // The key decides the algorithm; the token only confirms it.
  if (json_lookup::Str(*header, "alg") != alg_) return Refused("alg must be " + alg_);
  if (header->contains("crit")) return Refused("unknown critical header");
  std::string_view signed_part = token.substr(0, dot2);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx) return Internal("out of memory");
  bool good = EVP_DigestVerifyInit(ctx, nullptr, alg_ == "RS256" ? EVP_sha256() : nullptr, nullptr, key_) == 1 &&
              EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature->data()), signature->size(),
                               reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!good) {
    ERR_clear_error();  // the thread's queue stays clean for the next OpenSSL user (TLS)
    return Refused("bad signature");
  }

  ExternalClaims out;
  out.issuer = json_lookup::Str(*claims, "iss");
  if (out.issuer != issuer_.issuer) return Refused("wrong issuer");
  if (!issuer_.audience.empty() && !HoldsAudience(*claims, issuer_.audience)) return Refused("wrong audience");
  NATTER_TRY(auto exp, DateClaim(*claims, "exp"));
  NATTER_TRY(auto nbf, DateClaim(*claims, "nbf"));
  NATTER_TRY(auto iat, DateClaim(*claims, "iat"));
  if (!exp) return Refused("no expiry");
  if (*exp < now - kLeewaySeconds) return Refused("expired");
  if (*exp > now + kMaxLifetimeSeconds) return Refused("expires too far ahead");
  if (nbf && *nbf > now + kLeewaySeconds) return Refused("not valid yet");
  if (iat && *iat > now + kLeewaySeconds) return Refused("issued in the future");
  out.subject = json_lookup::Str(*claims, "sub");
  if (out.subject.empty() || out.subject.size() > 255) return Refused("no subject");
  out.handle = json_lookup::Str(*claims, issuer_.handle_claim.c_str());
  out.name = json_lookup::Str(*claims, "name");
  return out;
}

}  // namespace natter::auth
