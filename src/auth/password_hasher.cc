#include "auth/password_hasher.h"

#include <sodium.h>

#include <array>

#include "auth/random_bytes.h"

namespace natter::auth {
namespace {

constexpr size_t kMinPasswordBytes = 8;
constexpr size_t kMaxPasswordBytes = 1024;

using HashBuffer = std::array<char, crypto_pwhash_STRBYTES>;

// libsodium reads stored hashes as NUL-terminated strings inside a buffer of
// crypto_pwhash_STRBYTES. Copying into such a buffer ensures it never reads
// past our data; anything that cannot fit is not a hash libsodium produced.
bool ToHashBuffer(std::string_view stored_hash, HashBuffer& buffer) {
  if (stored_hash.empty() || stored_hash.size() >= buffer.size()) return false;
  if (stored_hash.find('\0') != std::string_view::npos) return false;
  buffer.fill('\0');
  stored_hash.copy(buffer.data(), stored_hash.size());
  return true;
}

}  // namespace

PasswordParams PasswordParams::Interactive() {
  return {crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE, crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE};
}

PasswordParams PasswordParams::Minimal() {
  return {crypto_pwhash_argon2id_OPSLIMIT_MIN, crypto_pwhash_argon2id_MEMLIMIT_MIN};
}

Result<std::string> HashPassword(std::string_view password, const PasswordParams& params) {
  EnsureSodiumInitialized();
  if (params.ops_limit < crypto_pwhash_argon2id_OPSLIMIT_MIN ||
      params.ops_limit > crypto_pwhash_argon2id_OPSLIMIT_MAX ||
      params.mem_limit < crypto_pwhash_argon2id_MEMLIMIT_MIN ||
      params.mem_limit > crypto_pwhash_argon2id_MEMLIMIT_MAX) {
    return Internal("password hashing parameters out of range");
  }
  if (password.size() > crypto_pwhash_argon2id_PASSWD_MAX) {
    return BadRequest("password is too long");
  }
  HashBuffer out{};
  // The algorithm is named explicitly rather than relying on libsodium's
  // default, so a library upgrade cannot silently change it.
  if (crypto_pwhash_str_alg(out.data(), password.data(), password.size(), params.ops_limit, params.mem_limit,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Internal("password hashing failed");
  }
  return std::string(out.data());
}

bool VerifyPassword(std::string_view stored_hash, std::string_view password) {
  EnsureSodiumInitialized();
  HashBuffer buffer;
  if (!ToHashBuffer(stored_hash, buffer)) return false;
  return crypto_pwhash_str_verify(buffer.data(), password.data(), password.size()) == 0;
}

bool PasswordNeedsRehash(std::string_view stored_hash, const PasswordParams& params) {
  EnsureSodiumInitialized();
  HashBuffer buffer;
  if (!ToHashBuffer(stored_hash, buffer)) return true;
  // The argon2id-specific check (not the generic one) also reports a hash of
  // another algorithm, such as argon2i, as needing a rehash: we want every
  // stored hash to end up as argon2id.
  return crypto_pwhash_argon2id_str_needs_rehash(buffer.data(), params.ops_limit, params.mem_limit) != 0;
}

Status CheckPasswordPolicy(std::string_view password) {
  if (password.size() < kMinPasswordBytes) {
    return BadRequest("password must be at least 8 bytes long");
  }
  if (password.size() > kMaxPasswordBytes) {
    return BadRequest("password must be at most 1024 bytes long");
  }
  if (password.find('\0') != std::string_view::npos) {
    return BadRequest("password must not contain NUL bytes");
  }
  return OkStatus();
}

}  // namespace natter::auth
