#include "auth/refresh_token.h"

#include <sodium.h>

#include "auth/base64url.h"
#include "auth/random_bytes.h"

namespace natter::auth {
namespace {

constexpr size_t kRefreshTokenBytes = 32;

}  // namespace

std::string NewRefreshToken() { return Base64UrlEncode(RandomBytes(kRefreshTokenBytes)); }

std::string HashRefreshToken(std::string_view token) {
  EnsureSodiumInitialized();
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(token.data()), token.size());
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return std::string(hex, crypto_hash_sha256_BYTES * 2);
}

}  // namespace natter::auth
