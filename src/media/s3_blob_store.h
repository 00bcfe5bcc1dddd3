// The BlobStore of one upload being processed with the S3 backend: objects
// go to blobs/<sha256> in the bucket. The upload's own bytes are already in
// the bucket (uploads/<id>, where the client put them): storing them as sent
// is a copy inside the store, not a second trip through natterd.
// Derivatives (an image's display version and thumbnail) are PUT.
// Thread-safety: one processing at a time (a media worker's).
#pragma once

#include <string>

#include "media/blob_store.h"
#include "media/s3_client.h"

namespace natter::media {

// Where an upload's bytes and its objects live in the bucket.
std::string UploadKey(int64_t upload_id);
std::string BlobKey(std::string_view sha256);

class S3UploadBlobs final : public BlobStore {
 public:
  // `local_copy` is where natterd fetched the upload to check it; storing
  // that file copies `upload_key` instead.
  S3UploadBlobs(S3Client& s3, std::string local_copy, std::string upload_key)
      : s3_(s3), local_copy_(std::move(local_copy)), upload_key_(std::move(upload_key)) {}

  Status PutFile(const std::string& path, std::string_view sha256) override;
  Status PutBytes(std::string_view bytes, std::string_view sha256) override;
  Status Delete(std::string_view sha256) override;

 private:
  // True when the object is already there (the same bytes sent before).
  Result<bool> Exists(std::string_view sha256);
  S3Client& s3_;
  std::string local_copy_;
  std::string upload_key_;
};

}  // namespace natter::media
