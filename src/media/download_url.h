// Download URLs for the local blob store: natterd checks that the caller may
// read an attachment once, when it hands out the URL, and the URL then
// carries that permission for a short while in an HMAC, so the download
// itself needs no database and no token (an <img> tag or a download manager
// can fetch it). The same shape as a presigned S3 URL.
// Thread-safety: immutable after construction.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "natter/status.h"

namespace natter::media {

struct BlobGrant {
  std::string object;  // the stored object's name (media/object_catalog.h)
  std::string mime;    // what the response's Content-Type says
  std::string filename;
  int64_t expires_s = 0;
};

class DownloadUrls {
 public:
  explicit DownloadUrls(std::string key) : key_(std::move(key)) {}

  // "/v1/media/blob/<sha256>?type=..&name=..&expires=..&sig=.."
  std::string Sign(const BlobGrant& grant) const;
  // The grant of a request target; Forbidden when the signature does not
  // verify or the URL expired at `now_s`, NotFound when it is no such URL.
  Result<BlobGrant> Verify(std::string_view target, int64_t now_s) const;

  static constexpr std::string_view kPrefix = "/v1/media/blob/";

 private:
  std::string Mac(const BlobGrant& grant) const;
  std::string key_;
};

// How a download is answered, whoever serves it (natterd's blob route, or
// the object store through a presigned URL's response-* overrides). Only
// media whose bytes natterd recognised is shown inline; anything else is
// application/octet-stream as an attachment, so a file never runs as a page.
struct DownloadHeaders {
  std::string content_type;
  std::string disposition;  // inline or attachment, with the file's name (RFC 6266)
};
DownloadHeaders HeadersFor(std::string_view mime, std::string_view filename);

// The key kept at `path` (32 random bytes, made on first use, mode 0600).
Result<std::string> LoadOrCreateUrlKey(const std::string& path);

}  // namespace natter::media
