#include "media/s3_blob_store.h"

#include <spdlog/spdlog.h>

namespace natter::media {
namespace {

// A failure of the store is never the upload's fault: processing is tried
// again later (`unavailable`), and what the store said goes to the log, not
// to the client.
Status StoreFailure(Status st) {
  if (st.ok()) return st;
  spdlog::warn("media: {}", st.error().message);
  return Unavailable("the object store is not available; try again");
}

}  // namespace

std::string UploadKey(int64_t upload_id) { return "uploads/" + std::to_string(upload_id); }
std::string BlobKey(std::string_view name) { return "blobs/" + std::string(name); }

// Objects are written once under a new name (media/object_catalog.h), so
// there is nothing to look for first; a PUT or copy again is harmless.
Status S3Blobs::PutFile(const std::string& path, std::string_view name) {
  if (!local_copy_.empty() && path == local_copy_) return StoreFailure(s3_.Copy(upload_key_, BlobKey(name)));
  return StoreFailure(s3_.PutFile(BlobKey(name), path, name.substr(0, 64), "application/octet-stream"));
}

Status S3Blobs::PutBytes(std::string_view bytes, std::string_view name) {
  return StoreFailure(s3_.PutBytes(BlobKey(name), bytes, "application/octet-stream"));
}

Status S3Blobs::Delete(std::string_view name) { return StoreFailure(s3_.Delete(BlobKey(name))); }

}  // namespace natter::media
