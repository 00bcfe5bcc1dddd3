// Files for encrypted conversations (docs/e2ee.md): sealed on the device
// before they are uploaded, so the server and the object store hold only
// ciphertext; the random key and the digest of the ciphertext travel inside
// the message. AES-256-GCM: a 12-byte nonce, the ciphertext, the 16-byte tag.
//
// Thread-safety: plain functions over files.
#pragma once

#include <cstdint>
#include <string>

#include "natter/status.h"

namespace natter::client {

struct SealedFile {
  std::string key;     // 32 random bytes
  std::string digest;  // SHA-256 of the sealed file (what is uploaded)
  int64_t size = 0;    // of the plain file
};

// Seals the file at `in` into a new file at `out`.
Result<SealedFile> SealFile(const std::string& in, const std::string& out);

// Opens a downloaded sealed file at `in` into `out`: the digest is checked
// first, the tag at the end; on any failure `out` is removed (bad_request
// for bytes that are not the ones sent).
Status OpenSealedFile(const std::string& in, const std::string& out, const std::string& key, const std::string& digest);

}  // namespace natter::client
