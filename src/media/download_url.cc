#include "media/download_url.h"

#include <sodium.h>

#include <boost/url/parse.hpp>
#include <charconv>
#include <fstream>
#include <sstream>

#include "auth/random_bytes.h"
#include "media/content_type.h"
#include "media/file_io.h"
#include "media/local_blob_store.h"
#include "media/object_catalog.h"
#include "media/sigv4.h"

namespace natter::media {

std::string DownloadUrls::Mac(const BlobGrant& g) const {
  // Each field with its length first: no two grants sign the same text.
  std::string message;
  for (const std::string& field : {g.object, g.mime, g.filename, std::to_string(g.expires_s)}) {
    message += std::to_string(field.size()) + ":" + field;
  }
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key_.data()), key_.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(message.data()), message.size());
  crypto_auth_hmacsha256_final(&state, mac);
  char hex[sizeof mac * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
  return hex;
}

std::string DownloadUrls::Sign(const BlobGrant& g) const {
  return std::string(kPrefix) + g.object + "?type=" + AwsUriEncode(g.mime, false) +
         "&name=" + AwsUriEncode(g.filename, false) + "&expires=" + std::to_string(g.expires_s) + "&sig=" + Mac(g);
}

Result<BlobGrant> DownloadUrls::Verify(std::string_view target, int64_t now_s) const {
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return NotFound("no such object");
  std::string path(url->path());
  if (!path.starts_with(kPrefix)) return NotFound("no such object");
  BlobGrant g;
  g.object = path.substr(kPrefix.size());
  if (!IsObjectName(g.object)) return NotFound("no such object");
  std::string sig, expires;
  for (auto param : url->params()) {
    if (param.key == "type") g.mime = param.value;
    if (param.key == "name") g.filename = param.value;
    if (param.key == "expires") expires = param.value;
    if (param.key == "sig") sig = param.value;
  }
  auto [p, ec] = std::from_chars(expires.data(), expires.data() + expires.size(), g.expires_s);
  if (ec != std::errc() || p != expires.data() + expires.size()) return Forbidden("this download URL is not valid");
  std::string expected = Mac(g);
  if (sig.size() != expected.size() || sodium_memcmp(sig.data(), expected.data(), sig.size()) != 0) {
    return Forbidden("this download URL is not valid");
  }
  if (g.expires_s < now_s) return Forbidden("this download URL has expired; ask for a new one");
  // Signed by this server, so made by it; checked again all the same, since
  // the type becomes a header.
  if (CheckedMime(g.mime) != g.mime) return Forbidden("this download URL is not valid");
  return g;
}

DownloadHeaders HeadersFor(std::string_view mime, std::string_view filename) {
  bool inline_ok = IsRecognisedMedia(mime);
  DownloadHeaders h{inline_ok ? std::string(mime) : "application/octet-stream", inline_ok ? "inline" : "attachment"};
  if (!filename.empty()) h.disposition += "; filename*=UTF-8''" + AwsUriEncode(filename, false);
  return h;
}

Result<std::string> LoadOrCreateUrlKey(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (in) {
    std::stringstream ss;
    ss << in.rdbuf();
    std::string key = ss.str();
    if (key.size() == 32) return key;
    return Internal(path + " does not hold a 32-byte key");
  }
  std::string key = auth::RandomBytes(32);
  NATTER_RETURN_IF_ERROR(WriteFileAtomically(path, key));
  return key;
}

}  // namespace natter::media
