#include "e2ee/xeddsa.h"

#include <openssl/bn.h>
#include <sodium.h>

#include <array>
#include <cstring>
#include <memory>

namespace natter::e2ee {
namespace {

using Bn = std::unique_ptr<BIGNUM, decltype(&BN_free)>;
using BnCtx = std::unique_ptr<BN_CTX, decltype(&BN_CTX_free)>;

Bn NewBn() { return Bn(BN_new(), BN_free); }

// 2^255 - 19.
Bn FieldPrime() {
  Bn p = NewBn();
  BN_set_bit(p.get(), 255);
  BN_sub_word(p.get(), 19);
  return p;
}

// The key's u (little-endian, 32 bytes after the type byte), or null when it
// is not below the prime.
Bn ReadU(std::string_view key) {
  Bn u = NewBn();
  BN_lebin2bn(reinterpret_cast<const unsigned char*>(key.data()) + 1, 32, u.get());
  if (BN_cmp(u.get(), FieldPrime().get()) >= 0) return Bn(nullptr, BN_free);
  return u;
}

// The Edwards y of Montgomery u: (u - 1) / (u + 1) mod p, little-endian.
// False for u = p - 1, which has none.
bool EdwardsY(const BIGNUM* u, std::array<unsigned char, 32>& y_out) {
  BnCtx ctx(BN_CTX_new(), BN_CTX_free);
  Bn p = FieldPrime(), num = NewBn(), den = NewBn(), y = NewBn();
  BN_one(num.get());
  if (!BN_mod_sub(num.get(), u, num.get(), p.get(), ctx.get())) return false;
  BN_one(den.get());
  if (!BN_mod_add(den.get(), u, den.get(), p.get(), ctx.get())) return false;
  if (BN_is_zero(den.get())) return false;
  if (!BN_mod_inverse(den.get(), den.get(), p.get(), ctx.get())) return false;
  if (!BN_mod_mul(y.get(), num.get(), den.get(), p.get(), ctx.get())) return false;
  return BN_bn2lebinpad(y.get(), y_out.data(), 32) == 32;
}

}  // namespace

bool IsPublicKey(std::string_view key) {
  if (key.size() != kPublicKeyBytes || static_cast<unsigned char>(key[0]) != kDjbKeyType) return false;
  return ReadU(key) != nullptr;
}

bool VerifySignature(std::string_view identity_key, std::string_view message, std::string_view signature) {
  if (!IsPublicKey(identity_key) || signature.size() != kSignatureBytes) return false;
  if (sodium_init() < 0) return false;
  Bn u = ReadU(identity_key);
  std::array<unsigned char, 32> edwards{};
  if (!EdwardsY(u.get(), edwards)) return false;
  // XEdDSA keeps the Edwards point's sign in the signature's top bit, which
  // Ed25519 requires to be clear.
  std::array<unsigned char, kSignatureBytes> sig{};
  std::memcpy(sig.data(), signature.data(), sig.size());
  edwards[31] = static_cast<unsigned char>((edwards[31] & 0x7f) | (sig[63] & 0x80));
  sig[63] &= 0x7f;
  return crypto_sign_verify_detached(sig.data(), reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                                     edwards.data()) == 0;
}

}  // namespace natter::e2ee
