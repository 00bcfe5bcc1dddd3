// The BlobStore of the S3 backend: objects are blobs/<name> in the bucket.
// While an upload is processed, its own bytes are already in the bucket
// (uploads/<id>, where the client put them) and fetched to a local copy:
// storing that copy is a copy inside the store, not a second trip through
// natterd. Derivatives (an image's display version and thumbnail) are PUT.
// Failures are `unavailable`: the store's trouble never refuses an upload.
// Thread-safety: any thread (each call is its own request).
#pragma once

#include <string>

#include "media/blob_store.h"
#include "media/s3_client.h"

namespace natter::media {

// Where an upload's bytes and the objects live in the bucket.
std::string UploadKey(int64_t upload_id);
std::string BlobKey(std::string_view name);

class S3Blobs final : public BlobStore {
 public:
  explicit S3Blobs(S3Client& s3) : s3_(s3) {}
  // For one upload's processing: `local_copy` is where natterd fetched the
  // upload to check it; storing that file copies `upload_key` instead.
  S3Blobs(S3Client& s3, std::string local_copy, std::string upload_key)
      : s3_(s3), local_copy_(std::move(local_copy)), upload_key_(std::move(upload_key)) {}

  Status PutFile(const std::string& path, std::string_view name) override;
  Status PutBytes(std::string_view bytes, std::string_view name) override;
  Status Delete(std::string_view name) override;

 private:
  S3Client& s3_;
  std::string local_copy_;
  std::string upload_key_;
};

}  // namespace natter::media
