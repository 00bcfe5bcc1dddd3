// Sealing what a device keeps at rest (docs/e2ee.md, "Keys on the device"):
// AES-256-GCM under a 32-byte key the app holds in the platform keystore,
// with a fresh 12-byte nonce per value and what the value is (its table and
// key) as associated data, so a sealed value cannot be moved to another row.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace natter::e2ee {

inline constexpr size_t kSealingKeyBytes = 32;

// nonce (12) || ciphertext || tag (16). Throws if OpenSSL fails.
std::string Seal(std::string_view key, std::string_view context, std::string_view plaintext);
// The plaintext; nullopt when the key, the context or a byte is wrong.
std::optional<std::string> Unseal(std::string_view key, std::string_view context, std::string_view sealed);

}  // namespace natter::e2ee
