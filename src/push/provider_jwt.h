// The JWTs push providers ask of a server (RFC 7519, signed per RFC 7518):
// ES256 for APNs token-based provider authentication (the .p8 key Apple
// issues, with its key id and the team id), and RS256 for the OAuth 2.0
// assertion Google exchanges for an FCM access token (a service account's
// private key). The signer holds the key; the claims are the provider's.
//
// Thread-safety: a ProviderSigner is immutable after FromPem; Sign may run
// concurrently from any thread.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "natter/status.h"

namespace natter::push {

class ProviderSigner {
 public:
  // A PEM private key: PKCS#8 ("BEGIN PRIVATE KEY", as in .p8 files and a
  // service account's private_key) or the traditional RSA and EC forms. An
  // EC key must be on P-256 (ES256); an RSA key at least 2048 bits (RS256).
  static Result<ProviderSigner> FromPem(std::string_view pem);

  // "ES256" or "RS256", from the key.
  const char* algorithm() const;
  // header.claims.signature, with "alg" set in the header.
  Result<std::string> Sign(boost::json::object header, const boost::json::object& claims) const;

 private:
  struct Key;
  explicit ProviderSigner(std::shared_ptr<const Key> key) : key_(std::move(key)) {}
  std::shared_ptr<const Key> key_;
};

// APNs: {"alg":"ES256","kid":key_id} {"iss":team_id,"iat":issued_at}. Apple
// accepts one for an hour and refuses new ones more often than every 20 min.
Result<std::string> ApnsProviderToken(const ProviderSigner& signer, std::string_view key_id, std::string_view team_id,
                                      int64_t issued_at);

// Google: the assertion of the JWT bearer grant (RFC 7523) for a service
// account, valid for an hour, for the FCM scope.
inline constexpr std::string_view kFcmScope = "https://www.googleapis.com/auth/firebase.messaging";
Result<std::string> GoogleAssertion(const ProviderSigner& signer, std::string_view client_email,
                                    std::string_view token_uri, int64_t issued_at);

}  // namespace natter::push
