// Checks a signature a device made with its identity key (Signal's XEdDSA
// over Curve25519), as natterd does for every signed prekey a device
// publishes (docs/e2ee.md). The identity key is a Montgomery point; XEdDSA
// signs as Ed25519 would with the matching Edwards point, whose sign bit the
// signature carries. So the check is: the Edwards y of the key's u, that
// sign bit, and libsodium's Ed25519 verification. natterd needs no Signal
// library for it.
//
// Thread-safety: a pure function.
#pragma once

#include <string_view>

namespace natter::e2ee {

// The form Signal serialises a Curve25519 public key in: a type byte, then u.
inline constexpr size_t kPublicKeyBytes = 33;
inline constexpr unsigned char kDjbKeyType = 0x05;
inline constexpr size_t kSignatureBytes = 64;

// True when `key` has that form and its u is a canonical field element.
bool IsPublicKey(std::string_view key);

// True when `signature` is `identity_key`'s XEdDSA signature of `message`.
// False for anything malformed: a key not IsPublicKey, a signature of the
// wrong length, a non-canonical or small-order point (libsodium refuses
// those, more strictly than Signal's own check).
bool VerifySignature(std::string_view identity_key, std::string_view message, std::string_view signature);

}  // namespace natter::e2ee
