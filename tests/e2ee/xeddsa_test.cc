// Signed prekeys are checked as Signal's own library checks them: the
// vectors below were made by libsignal-protocol-c 2.3.3 (an identity key
// pair, a signed prekey, curve_calculate_signature over its 33 bytes).
#include "e2ee/xeddsa.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <cstring>

#include <string>

namespace natter::e2ee {
namespace {

std::string Hex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

struct Vector {
  const char* identity;
  const char* signed_prekey;
  const char* signature;
};

constexpr Vector kVectors[] = {{"05518ca4c68a4c6b74d2a389e236b9c629275646030bcae1d0e081349d4d6ee202",
                                "05f4a41719dc8850f216e7ba7f6fa010729eb73bbd9a93c58c6a39c438b3777829",
                                "64e7897868c1a065f8331a1ebc993eba6f38ac8cf729e690b381fd207c37e2a4518cd8aa567eaea4c50eee"
                                "ef68b8ebc98a888dbb0501447790dd3ca3fd273c85"},
                               {"0576971345c393f74bb0c5ea37c9666dc74f770af58ff896dde400ac9f7b42fc5a",
                                "058bbac7b02914aa2138c611840712310196b173493077a29e69d64958a0ec3a57",
                                "954e3592a01f48a21483002828a4dab533ddd7f30e916687d095615eab3c6a7b81a0457e197ed0ef89451d"
                                "0d84780e3ce1786ba897b2b03d945dbff4e0abab81"},
                               {"05942a3b421005fb419efbef81b28c38d449bb0919422d2481e5df27b80b21630f",
                                "0507765d329be71b1d170acb3bf84761e92c062be87e76b96b92a4713b4993f411",
                                "aee1769a627baeb36806df0fd4c16b75f408f0c94ebeba5501c2379b4c943b15bc26d15aadfc7737828d7a"
                                "5707636f2914fea58f46c28e5d65aea754439bb781"}};

TEST(XEdDsa, SignaturesMadeBySignalsLibraryVerify) {
  for (const auto& v : kVectors) {
    EXPECT_TRUE(VerifySignature(Hex(v.identity), Hex(v.signed_prekey), Hex(v.signature))) << v.identity;
  }
}

TEST(XEdDsa, AnyChangedBitIsRefused) {
  const auto& v = kVectors[0];
  std::string identity = Hex(v.identity), message = Hex(v.signed_prekey), signature = Hex(v.signature);
  for (size_t i = 0; i < signature.size() * 8; i += 7) {
    std::string bad = signature;
    bad[i / 8] = static_cast<char>(bad[i / 8] ^ (1 << (i % 8)));
    EXPECT_FALSE(VerifySignature(identity, message, bad)) << "signature bit " << i;
  }
  for (size_t i = 8; i < message.size() * 8; i += 5) {
    std::string bad = message;
    bad[i / 8] = static_cast<char>(bad[i / 8] ^ (1 << (i % 8)));
    EXPECT_FALSE(VerifySignature(identity, bad, signature)) << "message bit " << i;
  }
  // Another device's identity key did not sign it.
  EXPECT_FALSE(VerifySignature(Hex(kVectors[1].identity), message, signature));
}

TEST(XEdDsa, MalformedKeysAndSignaturesAreRefused) {
  const auto& v = kVectors[0];
  std::string identity = Hex(v.identity), message = Hex(v.signed_prekey), signature = Hex(v.signature);
  EXPECT_TRUE(IsPublicKey(identity));
  EXPECT_FALSE(IsPublicKey(identity.substr(1)));                           // no type byte
  EXPECT_FALSE(IsPublicKey(std::string("\x06", 1) + identity.substr(1)));  // another type
  EXPECT_FALSE(IsPublicKey(identity + "x"));
  // u = 2^255 - 1 is not a field element below the prime.
  EXPECT_FALSE(IsPublicKey(std::string("\x05", 1) + std::string(31, '\xff') + "\x7f"));
  EXPECT_FALSE(VerifySignature(identity.substr(1), message, signature));
  EXPECT_FALSE(VerifySignature(identity, message, signature.substr(1)));
  EXPECT_FALSE(VerifySignature(identity, message, signature + "x"));
  EXPECT_FALSE(VerifySignature(identity, message, std::string(64, '\0')));
  EXPECT_FALSE(VerifySignature(std::string("\x05", 1) + std::string(32, '\0'), message, signature));
}

// u = 0 is the Edwards point (0, -1), of order 2. With R the identity and
// S = 0, the verification equation [S]B = R + [h]A holds whenever h is even:
// a signature anyone can forge for such a key. It must be refused.
TEST(XEdDsa, ASmallOrderKeyCannotBeForgedFor) {
  ASSERT_GE(sodium_init(), 0);
  std::string key = std::string("\x05", 1) + std::string(32, '\0');  // u = 0
  unsigned char edwards[32];                                         // y = -1 = p - 1, sign bit clear
  std::memset(edwards, 0xff, sizeof edwards);
  edwards[0] = 0xec;
  edwards[31] = 0x7f;
  unsigned char forged[64] = {1};  // R: the identity (y = 1); S: 0
  std::string message;
  for (int i = 0; i < 64; ++i) {
    message = "message " + std::to_string(i);
    unsigned char hash[64], h[32];
    crypto_hash_sha512_state state;
    crypto_hash_sha512_init(&state);
    crypto_hash_sha512_update(&state, forged, 32);
    crypto_hash_sha512_update(&state, edwards, 32);
    crypto_hash_sha512_update(&state, reinterpret_cast<const unsigned char*>(message.data()), message.size());
    crypto_hash_sha512_final(&state, hash);
    crypto_core_ed25519_scalar_reduce(h, hash);
    if ((h[0] & 1) == 0) break;  // h even: the equation holds
  }
  EXPECT_FALSE(VerifySignature(key, message, std::string(reinterpret_cast<const char*>(forged), 64)));
}

}  // namespace
}  // namespace natter::e2ee
