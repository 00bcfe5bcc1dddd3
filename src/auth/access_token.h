// Short-lived access tokens: JWTs (RFC 7519) in compact form, signed with
// HMAC-SHA256 under a key from the KeyRing. Verification follows RFC 8725:
// one fixed algorithm (HS256), the signature is checked before any claim is
// trusted, and issuer, audience and times are always validated.
//
// Thread-safety: an AccessTokenCodec is immutable after construction; Issue()
// and Verify() may run concurrently from any thread. The codec keeps a
// reference to the KeyRing, which must outlive it and must not change.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "auth/key_ring.h"
#include "natter/status.h"

namespace natter::auth {

// The claims a verified token vouches for. Times are seconds since the epoch.
struct AccessClaims {
  int64_t user_id = 0;
  int64_t session_id = 0;
  int64_t issued_at = 0;
  int64_t expires_at = 0;
};

struct TokenPolicy {
  std::string issuer = "natter";
  std::string audience = "natter";
  int64_t ttl_seconds = 900;
  // Tolerated clock skew between the issuing and verifying hosts.
  int64_t leeway_seconds = 30;
};

// Verify() fails with TokenExpired() (code kTokenExpired, message
// "token_expired") when a token is valid in every respect except that it has
// expired, so the gateway can tell the client to refresh rather than to log in
// again.
inline constexpr std::string_view kTokenExpiredMessage = "token_expired";

// Tokens longer than this are rejected before any decoding, bounding the
// work an unauthenticated client can cause.
inline constexpr size_t kMaxAccessTokenBytes = 4096;

class AccessTokenCodec {
 public:
  // Keeps a reference to `keys`. Throws std::invalid_argument if ttl_seconds
  // is not positive or leeway_seconds is negative (a configuration error).
  AccessTokenCodec(const KeyRing& keys, TokenPolicy policy);

  // A token for the given (positive) ids, signed with keys.current().
  // Header: {"alg":"HS256","typ":"JWT","kid":...}. Claims: iss, aud, sub (the
  // user id as a decimal string), sid (number), iat = nbf = now,
  // exp = now + ttl, jti (random, unique per token).
  std::string Issue(int64_t user_id, int64_t session_id, int64_t now) const;

  // Checks the token and returns its claims. Every failure is kUnauthorized
  // but an expired, otherwise valid token: kTokenExpired. Other
  // failures "invalid token: <short reason>". Never throws; arbitrary input
  // is safe.
  //
  // Accepted header members are exactly alg (must be "HS256"), kid (must name
  // a key in the ring) and optionally typ (must be "JWT"); anything else,
  // notably crit, jku, jwk, x5u or x5c, is rejected, since we only ever
  // accept tokens we issued ourselves. Claims: iss must equal the policy
  // issuer; aud must be the policy audience or an array containing it;
  // sub a canonical positive decimal; sid a positive integer; iat and exp
  // integers; nbf an optional integer; all time checks allow the leeway.
  Result<AccessClaims> Verify(std::string_view token, int64_t now) const;

  // When a token issued at `now` expires (its exp claim).
  int64_t ExpiresAt(int64_t now) const { return now + policy_.ttl_seconds; }
  // The longest a token issued now can still verify: its lifetime plus the leeway.
  int64_t max_lifetime_seconds() const { return policy_.ttl_seconds + policy_.leeway_seconds; }

 private:
  const KeyRing& keys_;
  TokenPolicy policy_;
};

}  // namespace natter::auth
