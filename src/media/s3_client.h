// natterd's calls to an S3-compatible object store (AWS S3, MinIO, Ceph,
// Garage...), and the presigned URLs it hands to clients so that media bytes
// go between a phone and the store without passing through natterd.
//
// Requests are signed with AWS Signature Version 4 (media/sigv4.h): natterd's
// own calls in the Authorization header, clients' URLs in the query string.
// Objects are addressed path-style (https://host/bucket/key) or
// virtual-host-style (https://bucket.host/key), as configured.
// Thread-safety: const methods and calls from any thread; each call is a
// blocking libcurl transfer of its own, so calls run on media threads only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "media/sigv4.h"
#include "natter/clock.h"
#include "natter/status.h"

namespace natter::media {

struct S3Config {
  std::string endpoint;  // "https://s3.eu-west-1.amazonaws.com", "http://127.0.0.1:9000"
  std::string region;
  std::string bucket;
  bool path_style = false;  // virtual-host style otherwise
  AwsCredentials credentials;
  std::string ca_file;  // empty: the system's trust store
  // How long a call may wait for its answer; a transfer may go half of it
  // without progress. A multipart completion or a copy, which S3 answers
  // once done, may take up to 15 minutes.
  int64_t timeout_ms = 60000;
};

struct S3Part {
  int number = 0;    // 1..10000
  std::string etag;  // as the store answered the part's upload
};

class S3Client {
 public:
  // BadRequest when the endpoint is not an http(s) URL without a path, or
  // the bucket, region or credentials are missing.
  static Result<std::unique_ptr<S3Client>> Create(S3Config config, const Clock& clock);

  // A URL the client PUTs one part of a multipart upload to, with exactly
  // `size` bytes (the length is signed).
  std::string PresignPart(std::string_view key, std::string_view upload_id, int part, int64_t size,
                          int64_t expires_s) const;
  // A URL that GETs the object, answered with this Content-Type and
  // Content-Disposition.
  std::string PresignGet(std::string_view key, int64_t expires_s, std::string_view content_type,
                         std::string_view content_disposition) const;

  // The multipart upload's id.
  Result<std::string> CreateMultipart(std::string_view key);
  Status CompleteMultipart(std::string_view key, std::string_view upload_id, const std::vector<S3Part>& parts);
  Status AbortMultipart(std::string_view key, std::string_view upload_id);
  // The object's size; NotFound when there is none.
  Result<int64_t> Size(std::string_view key);
  // Writes the object to `path`; refused (TooLarge) past `max_bytes`.
  Result<int64_t> Download(std::string_view key, const std::string& path, int64_t max_bytes);
  // `sha256` is the file's hex SHA-256 (signed as the payload's).
  Status PutFile(std::string_view key, const std::string& path, std::string_view sha256, std::string_view mime);
  Status PutBytes(std::string_view key, std::string_view bytes, std::string_view mime);
  Status Copy(std::string_view from_key, std::string_view to_key);
  // Deleting what is not there succeeds.
  Status Delete(std::string_view key);

  const S3Config& config() const { return config_; }
  // Called (on the calling thread) for each call the store did not answer,
  // answered with a server error, or refused access (credentials): what an
  // operator must look at. Set before the client is shared.
  void OnFailure(std::function<void()> counter) { on_failure_ = std::move(counter); }

 private:
  struct Call;
  struct Answer;
  S3Client(S3Config config, const Clock& clock, std::string scheme, std::string host);
  // The object's host (the bucket's, virtual-host style) and path.
  std::string Host() const;
  std::string PathOf(std::string_view key) const;
  Answer Perform(Call& call);

  S3Config config_;
  const Clock& clock_;
  std::string scheme_;  // "http" or "https"
  std::string host_;    // the endpoint's authority: host[:port]
  std::function<void()> on_failure_;
};

// The text of the first <tag>...</tag> in an S3 XML answer (entities decoded);
// empty when there is none.
std::string XmlText(std::string_view xml, std::string_view tag);

}  // namespace natter::media
