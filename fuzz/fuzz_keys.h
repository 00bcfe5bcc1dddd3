// What the token fuzzers share: one fixed signing key, and a way to sign what
// the fuzzer made, so it explores what lies behind the signature check too.
#pragma once

#include <openssl/hmac.h>

#include <string>
#include <string_view>

#include "auth/base64url.h"
#include "auth/key_ring.h"

namespace natter::fuzz {

inline const auth::KeyRing& Keys() {
  static const auth::KeyRing keys({{"fuzzkey", std::string(auth::kSigningKeyBytes, 'k')}});
  return keys;
}

// `signed_part` + "." + its HMAC-SHA256 under the fixed key, base64url.
inline std::string SignWithFixedKey(std::string_view signed_part) {
  const std::string& secret = Keys().current().secret;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(), mac, &length);
  return std::string(signed_part) + "." +
         auth::Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(mac), length));
}

}  // namespace natter::fuzz
