#include "media/s3_blob_store.h"

namespace natter::media {

std::string UploadKey(int64_t upload_id) { return "uploads/" + std::to_string(upload_id); }
std::string BlobKey(std::string_view sha256) { return "blobs/" + std::string(sha256); }

Result<bool> S3UploadBlobs::Exists(std::string_view sha256) {
  auto size = s3_.Size(BlobKey(sha256));
  if (size.ok()) return true;
  if (size.error().code == ErrorCode::kNotFound) return false;
  return size.take_error();
}

Status S3UploadBlobs::PutFile(const std::string& path, std::string_view sha256) {
  NATTER_TRY(bool exists, Exists(sha256));
  if (exists) return OkStatus();
  if (path == local_copy_) return s3_.Copy(upload_key_, BlobKey(sha256));
  return s3_.PutFile(BlobKey(sha256), path, sha256, "application/octet-stream");
}

Status S3UploadBlobs::PutBytes(std::string_view bytes, std::string_view sha256) {
  NATTER_TRY(bool exists, Exists(sha256));
  if (exists) return OkStatus();
  return s3_.PutBytes(BlobKey(sha256), bytes, "application/octet-stream");
}

Status S3UploadBlobs::Delete(std::string_view sha256) { return s3_.Delete(BlobKey(sha256)); }

}  // namespace natter::media
