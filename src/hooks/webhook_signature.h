// How a webhook delivery is signed, so its receiver knows natterd sent it and
// when (docs/webhooks.md): HMAC-SHA256 under the shared secret over
// "<unix seconds>.<body>", sent as `Natter-Signature: t=<seconds>,v1=<hex>`.
// The timestamp inside the MAC lets a receiver refuse an old delivery
// replayed by whoever recorded one.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace natter::hooks {

inline constexpr std::string_view kSignatureHeader = "Natter-Signature";
// A secret shorter than this is refused by the configuration.
inline constexpr size_t kMinSecretBytes = 16;

// The header's value for `body` sent at `unix_seconds`.
std::string SignWebhook(std::string_view secret, int64_t unix_seconds, std::string_view body);

}  // namespace natter::hooks
