// Sync tokens as a client may send them back. Half the inputs are used as
// they are; the other half are taken as "v1.<kid>.<payload>" and signed with
// the server's key, so the payload parser behind the signature is reached.
// A token that decodes must encode back to one that decodes the same.
#include <cstddef>
#include <cstdint>
#include <string>

#include "api/sync_token.h"
#include "fuzz_keys.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  constexpr natter::UserId kUser = 42;
  std::string token(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] & 1) token = natter::fuzz::SignWithFixedKey(token);
  auto decoded = natter::api::DecodeSyncToken(natter::fuzz::Keys(), kUser, token);
  if (!decoded.ok()) {
    if (decoded.error().code != natter::ErrorCode::kBadRequest) __builtin_trap();
    return 0;
  }
  if (!decoded->has_value()) return 0;
  std::string again = natter::api::EncodeSyncToken(natter::fuzz::Keys(), kUser, **decoded);
  auto round = natter::api::DecodeSyncToken(natter::fuzz::Keys(), kUser, again);
  if (!round.ok() || !round->has_value() || (*round)->pts != (*decoded)->pts ||
      (*round)->by_seq != (*decoded)->by_seq) {
    __builtin_trap();
  }
  return 0;
}
