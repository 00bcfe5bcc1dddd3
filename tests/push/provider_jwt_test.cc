#include "push/provider_jwt.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <boost/json/parse.hpp>

#include "auth/base64url.h"

namespace natter::push {
namespace {

namespace json = boost::json;

struct KeyPair {
  EVP_PKEY* pkey = nullptr;  // owned
  std::string pem;           // the private key, PKCS#8
  ~KeyPair() { EVP_PKEY_free(pkey); }
};

std::unique_ptr<KeyPair> Make(EVP_PKEY* pkey) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PKCS8PrivateKey(bio, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  auto pair = std::make_unique<KeyPair>();
  pair->pkey = pkey;
  pair->pem.assign(data, static_cast<size_t>(len));
  BIO_free(bio);
  return pair;
}

// Checks the signature as the provider would, and returns header and claims.
std::pair<json::object, json::object> Verify(const std::string& jwt, EVP_PKEY* pkey, bool ec) {
  size_t a = jwt.find('.'), b = jwt.rfind('.');
  std::string input = jwt.substr(0, b);
  auto signature = auth::Base64UrlDecode(jwt.substr(b + 1));
  if (!signature || (ec && signature->size() != 64)) {
    ADD_FAILURE() << "the signature is not " << (ec ? "64 bytes of " : "") << "base64url: " << jwt;
    return {};
  }
  std::string der = *signature;
  if (ec) {  // r||s back to DER for OpenSSL
    ECDSA_SIG* sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig, BN_bin2bn(reinterpret_cast<const unsigned char*>(signature->data()), 32, nullptr),
                   BN_bin2bn(reinterpret_cast<const unsigned char*>(signature->data()) + 32, 32, nullptr));
    unsigned char* out = nullptr;
    int len = i2d_ECDSA_SIG(sig, &out);
    der.assign(reinterpret_cast<char*>(out), static_cast<size_t>(len));
    OPENSSL_free(out);
    ECDSA_SIG_free(sig);
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EXPECT_EQ(EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, pkey), 1);
  EXPECT_EQ(EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(der.data()), der.size(),
                             reinterpret_cast<const unsigned char*>(input.data()), input.size()),
            1)
      << "the signature does not verify";
  EVP_MD_CTX_free(ctx);
  auto header = json::parse(*auth::Base64UrlDecode(jwt.substr(0, a))).as_object();
  auto claims = json::parse(*auth::Base64UrlDecode(jwt.substr(a + 1, b - a - 1))).as_object();
  return {header, claims};
}

TEST(ProviderJwtTest, ApnsProviderTokenIsEs256WithKidAndTeam) {
  auto key = Make(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  auto signer = ProviderSigner::FromPem(key->pem);
  ASSERT_TRUE(signer.ok()) << signer.error().message;
  EXPECT_STREQ(signer->algorithm(), "ES256");
  auto token = ApnsProviderToken(*signer, "ABC123DEFG", "DEF123GHIJ", 1'800'000'000);
  ASSERT_TRUE(token.ok());
  auto [header, claims] = Verify(*token, key->pkey, true);
  EXPECT_EQ(header, (json::object{{"kid", "ABC123DEFG"}, {"alg", "ES256"}}));
  EXPECT_EQ(claims, (json::object{{"iss", "DEF123GHIJ"}, {"iat", 1'800'000'000}}));
}

TEST(ProviderJwtTest, GoogleAssertionIsRs256ForTheFcmScope) {
  auto key = Make(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
  auto signer = ProviderSigner::FromPem(key->pem);
  ASSERT_TRUE(signer.ok()) << signer.error().message;
  auto token = GoogleAssertion(*signer, "push@project.iam.gserviceaccount.com", "https://oauth2.googleapis.com/token",
                               1'800'000'000);
  ASSERT_TRUE(token.ok());
  auto [header, claims] = Verify(*token, key->pkey, false);
  EXPECT_EQ(header.at("alg"), "RS256");
  EXPECT_EQ(header.at("typ"), "JWT");
  EXPECT_EQ(claims.at("iss"), "push@project.iam.gserviceaccount.com");
  EXPECT_EQ(claims.at("scope"), "https://www.googleapis.com/auth/firebase.messaging");
  EXPECT_EQ(claims.at("aud"), "https://oauth2.googleapis.com/token");
  EXPECT_EQ(claims.at("exp").as_int64() - claims.at("iat").as_int64(), 3600);
}

TEST(ProviderJwtTest, KeysThatCannotSignAsTheProvidersWantAreRefused) {
  auto p384 = Make(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
  EXPECT_EQ(ProviderSigner::FromPem(p384->pem).error().message, "an EC key must be on P-256 for ES256");
  auto small = Make(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{1024}));
  EXPECT_EQ(ProviderSigner::FromPem(small->pem).error().message, "an RSA key must have at least 2048 bits for RS256");
  auto ed = Make(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  EXPECT_EQ(ProviderSigner::FromPem(ed->pem).error().message, "the key is neither EC P-256 nor RSA");
  EXPECT_EQ(ProviderSigner::FromPem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").error().message,
            "not a PEM private key (or an encrypted one)");
}

}  // namespace
}  // namespace natter::push
