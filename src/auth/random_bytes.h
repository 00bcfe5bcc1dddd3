// libsodium start-up and cryptographically secure random bytes for the auth
// module. Every libsodium caller in src/auth goes through
// EnsureSodiumInitialized() first, because libsodium functions must not be
// used before sodium_init() has succeeded.
//
// Thread-safety: both functions are safe to call concurrently from any
// thread; initialisation happens exactly once.
#pragma once

#include <cstddef>
#include <string>

namespace natter::auth {

// Initialises libsodium on first use. Throws std::runtime_error if libsodium
// cannot start (no usable entropy source): a start-up failure, not an
// expected path.
void EnsureSodiumInitialized();

// `count` bytes from libsodium's CSPRNG.
std::string RandomBytes(size_t count);

}  // namespace natter::auth
