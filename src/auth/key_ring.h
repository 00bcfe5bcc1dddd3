// The set of HMAC keys that sign and verify access tokens, each named by a key
// id ("kid") so keys can be rotated without logging everyone out: the newest
// key signs, and every key still listed verifies. To rotate, put a new key at
// the front of jwt-keys.json and restart; drop the old key once the longest
// token lifetime has passed.
//
// Thread-safety: a KeyRing is immutable after construction, so any number of
// threads may call its const methods concurrently. LoadOrCreate() assumes one
// process owns the directory at start-up.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace natter::auth {

// RFC 7518 section 3.2: an HS256 key must be at least as long as the hash
// output, 256 bits.
inline constexpr size_t kSigningKeyBytes = 32;

// The key ring's file in a data directory.
inline constexpr char kKeyRingFileName[] = "jwt-keys.json";

struct SigningKey {
  std::string kid;
  std::string secret;  // raw bytes, at least kSigningKeyBytes long
};

class KeyRing {
 public:
  // keys.front() signs. Throws std::invalid_argument on an empty list, an
  // empty or duplicate kid, or a secret shorter than kSigningKeyBytes: such a
  // ring is a configuration error that must stop start-up.
  explicit KeyRing(std::vector<SigningKey> keys);

  // The key that signs new tokens.
  const SigningKey& current() const;
  // The key with this id, or nullptr if the ring does not hold it.
  const SigningKey* Find(std::string_view kid) const;
  // All keys, signing key first.
  const std::vector<SigningKey>& keys() const { return keys_; }

  // A fresh key: kid = 16 hex chars from random bytes, secret =
  // kSigningKeyBytes random bytes.
  static SigningKey GenerateKey();

  // Loads <dir>/jwt-keys.json, or creates it (one fresh key, file mode 0600,
  // written atomically through a temp file and rename) when absent. Format:
  // {"keys":[{"kid":"...","secret":"<base64url>"}]}, signing key first.
  // Throws std::runtime_error on an unreadable or malformed file, or when the
  // file cannot be created: start-up failures.
  static KeyRing LoadOrCreate(const std::string& dir);
  // The same for a key file anywhere (a cluster's nodes share one ring).
  static KeyRing LoadOrCreateFile(const std::string& path);
  // Whether LoadOrCreate(dir) would load keys made before.
  static bool ExistsIn(const std::string& dir);

 private:
  std::vector<SigningKey> keys_;
};

}  // namespace natter::auth
