// Access tokens issued by the operator's own backend (docs/admin.md): an app
// with its own login hands natterd its token, signed with EdDSA (Ed25519) or
// RS256 by the configured issuer, and natterd answers with a session of its
// own. Verification follows RFC 8725: the algorithm must be the one the
// configured key is for (never "none", never chosen by the token), the
// issuer must match, the audience must hold the configured one (if any), and
// the token must have an expiry, not passed, at most an hour away.
//
// Thread-safety: an ExternalTokenVerifier is immutable after Load(); Verify()
// may be called from any thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "natter/status.h"

struct evp_pkey_st;

namespace natter::auth {

struct ExternalClaims {
  std::string issuer;
  std::string subject;  // the backend's id for the user: natterd links it to one account
  std::string handle;   // the claim the configuration names (preferred_username by default), if present
  std::string name;     // "name", if present: the display name of a new account
};

struct ExternalIssuer {
  std::string issuer;           // the `iss` tokens must carry
  std::string audience;         // the `aud` they must hold ("" : not checked)
  std::string public_key_file;  // PEM: an Ed25519 or an RSA public key
  std::string handle_claim = "preferred_username";
};

class ExternalTokenVerifier {
 public:
  // Reads the key; fails naming what is wrong with the file.
  static Result<std::shared_ptr<const ExternalTokenVerifier>> Load(const ExternalIssuer& issuer);
  ~ExternalTokenVerifier();
  ExternalTokenVerifier(const ExternalTokenVerifier&) = delete;
  ExternalTokenVerifier& operator=(const ExternalTokenVerifier&) = delete;

  // The claims of a good token; `unauthorized` saying why for any other.
  Result<ExternalClaims> Verify(std::string_view token, int64_t now_seconds) const;

 private:
  ExternalTokenVerifier(ExternalIssuer issuer, evp_pkey_st* key, std::string alg)
      : issuer_(std::move(issuer)), key_(key), alg_(std::move(alg)) {}
  ExternalIssuer issuer_;
  evp_pkey_st* key_;
  std::string alg_;  // "EdDSA" or "RS256": what the key is for
};

}  // namespace natter::auth
