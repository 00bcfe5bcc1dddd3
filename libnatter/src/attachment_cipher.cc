#include "attachment_cipher.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

namespace natter::client {

namespace {

constexpr size_t kNonce = 12, kTag = 16, kChunk = 64 * 1024;

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;
using DigestCtx = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

unsigned char* U(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }
const unsigned char* U(const std::string& s) { return reinterpret_cast<const unsigned char*>(s.data()); }

Result<std::string> FileDigest(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read " + path);
  DigestCtx md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!md || EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) != 1) return Internal("SHA-256 unavailable");
  std::string buf(kChunk, '\0');
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.gcount() > 0) EVP_DigestUpdate(md.get(), buf.data(), static_cast<size_t>(in.gcount()));
  }
  std::string out(32, '\0');
  unsigned int n = 0;
  EVP_DigestFinal_ex(md.get(), U(out), &n);
  return out;
}

}  // namespace

Result<SealedFile> SealFile(const std::string& in_path, const std::string& out_path) {
  std::ifstream in(in_path, std::ios::binary);
  if (!in) return NotFound("cannot read " + in_path);
  SealedFile sealed;
  sealed.key.assign(32, '\0');
  std::string nonce(kNonce, '\0');
  if (RAND_bytes(U(sealed.key), 32) != 1 || RAND_bytes(U(nonce), kNonce) != 1) return Internal("no random bytes");
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, U(sealed.key), U(nonce)) != 1) {
    return Internal("AES-256-GCM unavailable");
  }
  std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
  if (!out) return Unavailable("cannot write " + out_path);
  out.write(nonce.data(), kNonce);
  std::string buf(kChunk, '\0'), enc(kChunk + 16, '\0');
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    int n = 0;
    if (in.gcount() <= 0) break;
    sealed.size += in.gcount();
    EVP_EncryptUpdate(ctx.get(), U(enc), &n, U(buf), static_cast<int>(in.gcount()));
    out.write(enc.data(), n);
  }
  int n = 0;
  std::string tag(kTag, '\0');
  if (EVP_EncryptFinal_ex(ctx.get(), U(enc), &n) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTag, U(tag)) != 1) {
    return Internal("sealing failed");
  }
  out.write(enc.data(), n);
  out.write(tag.data(), kTag);
  out.close();
  if (!out) return Unavailable("cannot write " + out_path);
  NATTER_TRY(sealed.digest, FileDigest(out_path));
  return sealed;
}

Status OpenSealedFile(const std::string& in_path, const std::string& out_path, const std::string& key,
                      const std::string& digest) {
  auto refuse = [&out_path](Error e) -> Status {
    std::error_code ec;
    std::filesystem::remove(out_path, ec);
    return e;
  };
  NATTER_TRY(auto found, FileDigest(in_path));
  if (found != digest) return refuse(BadRequest("the file is not the one sent (its digest differs)"));
  std::error_code ec;
  auto total = std::filesystem::file_size(in_path, ec);
  if (ec || total < kNonce + kTag || key.size() != 32) return refuse(BadRequest("not a sealed file"));
  std::ifstream in(in_path, std::ios::binary);
  std::string nonce(kNonce, '\0'), tag(kTag, '\0');
  in.read(nonce.data(), kNonce);
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, U(key), U(nonce)) != 1) {
    return refuse(Internal("AES-256-GCM unavailable"));
  }
  std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
  if (!out) return refuse(Unavailable("cannot write " + out_path));
  uint64_t left = total - kNonce - kTag;
  std::string buf(kChunk, '\0'), dec(kChunk + 16, '\0');
  while (left > 0) {
    size_t take = static_cast<size_t>(std::min<uint64_t>(left, kChunk));
    in.read(buf.data(), static_cast<std::streamsize>(take));
    if (static_cast<size_t>(in.gcount()) != take) return refuse(BadRequest("the sealed file is cut short"));
    int n = 0;
    EVP_DecryptUpdate(ctx.get(), U(dec), &n, U(buf), static_cast<int>(take));
    out.write(dec.data(), n);
    left -= take;
  }
  in.read(tag.data(), kTag);
  int n = 0;
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTag, U(tag)) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), U(dec), &n) != 1) {
    out.close();
    return refuse(BadRequest("the file does not open with its key (tampered with)"));
  }
  out.write(dec.data(), n);
  out.close();
  if (!out) return refuse(Unavailable("cannot write " + out_path));
  return OkStatus();
}

}  // namespace natter::client
