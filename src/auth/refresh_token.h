// Opaque refresh tokens: long random strings handed to the client once, of
// which the server stores only a SHA-256 hash. A leaked database therefore
// yields no usable token, and since the token carries 256 bits of entropy a
// fast unsalted hash is enough (no guessing attack is feasible).
//
// Thread-safety: pure functions, safe to call concurrently from any thread.
#pragma once

#include <string>
#include <string_view>

namespace natter::auth {

// 32 bytes from libsodium's CSPRNG, base64url without padding (43 chars).
std::string NewRefreshToken();

// Lowercase hex SHA-256 of the token text (64 chars): the value to store and
// look up. Deterministic, so a presented token is found by hashing it.
std::string HashRefreshToken(std::string_view token);

}  // namespace natter::auth
