// Access tokens as an attacker writes them. Half the inputs are used as they
// are; the other half are taken as "header.claims" and signed with the key
// the codec trusts, so the claim checks behind the signature are reached too.
#include <cstddef>
#include <cstdint>
#include <string>

#include "auth/access_token.h"
#include "fuzz_keys.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const natter::auth::AccessTokenCodec codec(natter::fuzz::Keys(), natter::auth::TokenPolicy{});
  std::string token(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] & 1) token = natter::fuzz::SignWithFixedKey(token);
  constexpr int64_t kNow = 1'700'000'000;
  auto claims = codec.Verify(token, kNow);
  if (claims.ok() && (claims->user_id <= 0 || claims->session_id <= 0)) __builtin_trap();
  if (!claims.ok() && claims.error().code != natter::ErrorCode::kUnauthorized &&
      claims.error().code != natter::ErrorCode::kTokenExpired) {
    __builtin_trap();
  }
  return 0;
}
