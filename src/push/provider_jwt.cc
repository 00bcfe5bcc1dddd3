#include "push/provider_jwt.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <boost/json/serialize.hpp>

#include "auth/base64url.h"

namespace natter::push {

namespace json = boost::json;

struct ProviderSigner::Key {
  EVP_PKEY* pkey = nullptr;
  bool ec = false;
  ~Key() { EVP_PKEY_free(pkey); }
};

namespace {

Error Refused(std::string why) { return Error{ErrorCode::kBadRequest, std::move(why)}; }

// ES256 signatures are r||s, 32 bytes each (RFC 7518 section 3.4); OpenSSL
// makes DER.
std::optional<std::string> DerToRaw(const unsigned char* der, size_t len) {
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(len));
  if (!sig) return std::nullopt;
  const BIGNUM *r = nullptr, *s = nullptr;
  ECDSA_SIG_get0(sig, &r, &s);
  std::string raw(64, '\0');
  bool ok = BN_bn2binpad(r, reinterpret_cast<unsigned char*>(raw.data()), 32) == 32 &&
            BN_bn2binpad(s, reinterpret_cast<unsigned char*>(raw.data()) + 32, 32) == 32;
  ECDSA_SIG_free(sig);
  return ok ? std::optional<std::string>(raw) : std::nullopt;
}

}  // namespace

Result<ProviderSigner> ProviderSigner::FromPem(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (!bio) return Refused("out of memory reading the key");
  // No passphrase callback: an encrypted key is refused, never prompted for
  // on a terminal.
  auto no_passphrase = [](char*, int, int, void*) { return 0; };
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio, nullptr, no_passphrase, nullptr);
  BIO_free(bio);
  if (!pkey) {
    ERR_clear_error();  // what failed is said here; later OpenSSL users on this thread see a clean queue
    return Refused("not a PEM private key (or an encrypted one)");
  }
  auto key = std::make_shared<Key>();
  key->pkey = pkey;
  if (EVP_PKEY_is_a(pkey, "EC")) {
    char group[64] = {0};
    size_t len = 0;
    if (!EVP_PKEY_get_utf8_string_param(pkey, "group", group, sizeof group, &len) ||
        std::string_view(group) != "prime256v1") {
      return Refused("an EC key must be on P-256 for ES256");
    }
    key->ec = true;
  } else if (EVP_PKEY_is_a(pkey, "RSA")) {
    if (EVP_PKEY_get_bits(pkey) < 2048) return Refused("an RSA key must have at least 2048 bits for RS256");
  } else {
    return Refused("the key is neither EC P-256 nor RSA");
  }
  return ProviderSigner(std::move(key));
}

const char* ProviderSigner::algorithm() const { return key_->ec ? "ES256" : "RS256"; }

Result<std::string> ProviderSigner::Sign(json::object header, const json::object& claims) const {
  header["alg"] = algorithm();
  std::string input =
      auth::Base64UrlEncode(json::serialize(header)) + "." + auth::Base64UrlEncode(json::serialize(claims));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  std::string signature;
  bool ok = ctx && EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key_->pkey) == 1 &&
            EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  if (ok) {
    signature.resize(len);
    ok = EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &len,
                        reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
    signature.resize(len);
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) {
    ERR_clear_error();
    return Error{ErrorCode::kInternal, "signing a provider token failed"};
  }
  if (key_->ec) {
    auto raw = DerToRaw(reinterpret_cast<const unsigned char*>(signature.data()), signature.size());
    if (!raw) return Error{ErrorCode::kInternal, "an ES256 signature OpenSSL made could not be read"};
    signature = std::move(*raw);
  }
  return input + "." + auth::Base64UrlEncode(signature);
}

Result<std::string> ApnsProviderToken(const ProviderSigner& signer, std::string_view key_id, std::string_view team_id,
                                      int64_t issued_at) {
  return signer.Sign({{"kid", key_id}}, {{"iss", team_id}, {"iat", issued_at}});
}

Result<std::string> GoogleAssertion(const ProviderSigner& signer, std::string_view client_email,
                                    std::string_view token_uri, int64_t issued_at) {
  return signer.Sign(
      {{"typ", "JWT"}},
      {{"iss", client_email}, {"scope", kFcmScope}, {"aud", token_uri}, {"iat", issued_at}, {"exp", issued_at + 3600}});
}

}  // namespace natter::push
