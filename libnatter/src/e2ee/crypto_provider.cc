#include "e2ee/crypto_provider.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <climits>
#include <memory>
#include <vector>

namespace natter::e2ee {
namespace {

int Random(uint8_t* data, size_t len, void*) {
  if (len > INT_MAX) return SG_ERR_INVAL;
  return RAND_bytes(data, static_cast<int>(len)) == 1 ? 0 : SG_ERR_UNKNOWN;
}

// The library declares the context uninitialised and cleans up even when
// init failed: *context is set before anything can fail, cleanup takes NULL.
int HmacInit(void** context, const uint8_t* key, size_t key_len, void*) {
  *context = nullptr;
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (!mac) return SG_ERR_UNKNOWN;
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);  // the context keeps its own reference
  if (!ctx) return SG_ERR_NOMEM;
  *context = ctx;
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  static const uint8_t kEmpty = 0;
  return EVP_MAC_init(ctx, key_len ? key : &kEmpty, key_len, params) == 1 ? 0 : SG_ERR_UNKNOWN;
}

int HmacUpdate(void* context, const uint8_t* data, size_t len, void*) {
  return EVP_MAC_update(static_cast<EVP_MAC_CTX*>(context), data, len) == 1 ? 0 : SG_ERR_UNKNOWN;
}

int HmacFinal(void* context, signal_buffer** output, void*) {
  uint8_t md[EVP_MAX_MD_SIZE];
  size_t len = 0;
  if (EVP_MAC_final(static_cast<EVP_MAC_CTX*>(context), md, &len, sizeof md) != 1) return SG_ERR_UNKNOWN;
  *output = signal_buffer_create(md, len);
  return *output ? 0 : SG_ERR_NOMEM;
}

void HmacCleanup(void* context, void*) { EVP_MAC_CTX_free(static_cast<EVP_MAC_CTX*>(context)); }

int Sha512Init(void** context, void*) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  *context = ctx;
  if (!ctx) return SG_ERR_NOMEM;
  return EVP_DigestInit_ex(ctx, EVP_sha512(), nullptr) == 1 ? 0 : SG_ERR_UNKNOWN;
}

int Sha512Update(void* context, const uint8_t* data, size_t len, void*) {
  return EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(context), data, len) == 1 ? 0 : SG_ERR_UNKNOWN;
}

// The fingerprint code calls update and final in a loop on one context:
// final leaves it ready for the next digest.
int Sha512Final(void* context, signal_buffer** output, void*) {
  auto* ctx = static_cast<EVP_MD_CTX*>(context);
  uint8_t md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx, md, &len) != 1) return SG_ERR_UNKNOWN;
  if (EVP_DigestInit_ex(ctx, EVP_sha512(), nullptr) != 1) return SG_ERR_UNKNOWN;
  *output = signal_buffer_create(md, len);
  return *output ? 0 : SG_ERR_NOMEM;
}

void Sha512Cleanup(void* context, void*) { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(context)); }

const EVP_CIPHER* CipherFor(int mode, size_t key_len) {
  bool cbc = mode == SG_CIPHER_AES_CBC_PKCS5;
  if (!cbc && mode != SG_CIPHER_AES_CTR_NOPADDING) return nullptr;
  switch (key_len) {
    case 16:
      return cbc ? EVP_aes_128_cbc() : EVP_aes_128_ctr();
    case 24:
      return cbc ? EVP_aes_192_cbc() : EVP_aes_192_ctr();
    case 32:
      return cbc ? EVP_aes_256_cbc() : EVP_aes_256_ctr();
    default:
      return nullptr;
  }
}

int Crypt(bool encrypt, signal_buffer** output, int mode, const uint8_t* key, size_t key_len, const uint8_t* iv,
          size_t iv_len, const uint8_t* in, size_t in_len) {
  const EVP_CIPHER* cipher = CipherFor(mode, key_len);
  if (!cipher || iv_len != 16 || in_len > static_cast<size_t>(INT_MAX) - 16) return SG_ERR_INVAL;
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  if (!ctx) return SG_ERR_NOMEM;
  if (EVP_CipherInit_ex(ctx.get(), cipher, nullptr, key, iv, encrypt ? 1 : 0) != 1) return SG_ERR_UNKNOWN;
  if (mode == SG_CIPHER_AES_CTR_NOPADDING) EVP_CIPHER_CTX_set_padding(ctx.get(), 0);
  std::vector<uint8_t> out(in_len + 16);
  // Plaintext never stays behind in freed memory, whatever the outcome.
  std::unique_ptr<std::vector<uint8_t>, void (*)(std::vector<uint8_t>*)> cleanse(
      &out, [](std::vector<uint8_t>* v) { OPENSSL_cleanse(v->data(), v->size()); });
  int first = 0, last = 0;
  if (EVP_CipherUpdate(ctx.get(), out.data(), &first, in, static_cast<int>(in_len)) != 1) return SG_ERR_UNKNOWN;
  // A CBC decryption whose padding is wrong fails here: an invalid message
  // (which also lets the library try its archived session states).
  if (EVP_CipherFinal_ex(ctx.get(), out.data() + first, &last) != 1) {
    return encrypt ? SG_ERR_UNKNOWN : SG_ERR_INVALID_MESSAGE;
  }
  *output = signal_buffer_create(out.data(), static_cast<size_t>(first + last));
  return *output ? 0 : SG_ERR_NOMEM;
}

int Encrypt(signal_buffer** output, int mode, const uint8_t* key, size_t key_len, const uint8_t* iv, size_t iv_len,
            const uint8_t* plaintext, size_t plaintext_len, void*) {
  return Crypt(true, output, mode, key, key_len, iv, iv_len, plaintext, plaintext_len);
}

int Decrypt(signal_buffer** output, int mode, const uint8_t* key, size_t key_len, const uint8_t* iv, size_t iv_len,
            const uint8_t* ciphertext, size_t ciphertext_len, void*) {
  return Crypt(false, output, mode, key, key_len, iv, iv_len, ciphertext, ciphertext_len);
}

}  // namespace

signal_crypto_provider OpenSslCryptoProvider() {
  signal_crypto_provider p{};
  p.random_func = Random;
  p.hmac_sha256_init_func = HmacInit;
  p.hmac_sha256_update_func = HmacUpdate;
  p.hmac_sha256_final_func = HmacFinal;
  p.hmac_sha256_cleanup_func = HmacCleanup;
  p.sha512_digest_init_func = Sha512Init;
  p.sha512_digest_update_func = Sha512Update;
  p.sha512_digest_final_func = Sha512Final;
  p.sha512_digest_cleanup_func = Sha512Cleanup;
  p.encrypt_func = Encrypt;
  p.decrypt_func = Decrypt;
  return p;
}

}  // namespace natter::e2ee
