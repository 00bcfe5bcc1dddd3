// The key that seals this profile's end-to-end encryption keys (docs/e2ee.md).
// An app keeps it in the platform keystore; the CLI has none, so it keeps it
// in the profile's directory, readable by its owner only: whoever can read
// the profile can read its keys.
#pragma once

#include <string>

namespace natter::cli {

// The profile's 32-byte key, made at random the first time. Throws
// std::runtime_error when it can be neither read nor made.
std::string ProfileDeviceKey(const std::string& profile_directory);

}  // namespace natter::cli
