// Password hashing with Argon2id (libsodium crypto_pwhash_str), the policy
// applied to new passwords, and verification of stored hashes.
//
// HashPassword() and VerifyPassword() are deliberately slow and memory-hungry
// (that is what makes offline guessing expensive) and they block the calling
// thread for tens of milliseconds or more. They must run on the hashing pool,
// never on an I/O thread, or one login would stall every connection served by
// that thread.
//
// Thread-safety: all functions are safe to call concurrently from any thread;
// they share no mutable state.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "natter/status.h"

namespace natter::auth {

// Argon2id cost parameters.
struct PasswordParams {
  unsigned long long ops_limit;
  size_t mem_limit;

  // libsodium's interactive preset: the production setting for logins.
  static PasswordParams Interactive();
  // libsodium's minimum values: far too weak for real use, only so that
  // tests run fast.
  static PasswordParams Minimal();
};

// Hashes `password` with a fresh random salt. The result is a self-describing
// "$argon2id$..." string carrying the algorithm, parameters and salt, so
// stored hashes keep verifying after the parameters change. Fails with
// kInternal if the parameters are out of libsodium's range or hashing fails
// (out of memory), and kBadRequest if the password exceeds libsodium's limit.
// Does not apply CheckPasswordPolicy(); callers check the policy when a
// password is chosen, not when one is hashed.
Result<std::string> HashPassword(std::string_view password, const PasswordParams& params);

// True only if `stored_hash` is a well-formed hash string produced from
// `password`. A malformed stored hash yields false, never an error: the
// caller treats it exactly like a wrong password. To keep "no such user"
// indistinguishable by timing, callers should verify against a dummy hash
// when the account does not exist.
bool VerifyPassword(std::string_view stored_hash, std::string_view password);

// True if `stored_hash` was made with parameters other than `params` (or is
// unreadable), so the caller should re-hash the password after a successful
// login.
bool PasswordNeedsRehash(std::string_view stored_hash, const PasswordParams& params);

// Policy for newly chosen passwords: 8..1024 bytes and no NUL bytes. Valid
// UTF-8 is not required, so any passphrase in any encoding works. The upper
// bound caps the work an attacker can force per hash; NUL is banned because
// C-string based clients and tools would silently truncate at it. Fails with
// kBadRequest and a message fit to show the user.
Status CheckPasswordPolicy(std::string_view password);

}  // namespace natter::auth
