#include "media/s3_blob_store.h"

namespace natter::media {

std::string UploadKey(int64_t upload_id) { return "uploads/" + std::to_string(upload_id); }
std::string BlobKey(std::string_view name) { return "blobs/" + std::string(name); }

Result<bool> S3Blobs::Exists(std::string_view name) {
  auto size = s3_.Size(BlobKey(name));
  if (size.ok()) return true;
  if (size.error().code == ErrorCode::kNotFound) return false;
  return size.take_error();
}

Status S3Blobs::PutFile(const std::string& path, std::string_view name) {
  NATTER_TRY(bool exists, Exists(name));
  if (exists) return OkStatus();
  if (!local_copy_.empty() && path == local_copy_) return s3_.Copy(upload_key_, BlobKey(name));
  return s3_.PutFile(BlobKey(name), path, name.substr(0, 64), "application/octet-stream");
}

Status S3Blobs::PutBytes(std::string_view bytes, std::string_view name) {
  NATTER_TRY(bool exists, Exists(name));
  if (exists) return OkStatus();
  return s3_.PutBytes(BlobKey(name), bytes, "application/octet-stream");
}

Status S3Blobs::Delete(std::string_view name) { return s3_.Delete(BlobKey(name)); }

}  // namespace natter::media
