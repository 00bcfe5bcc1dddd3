// The embedded BlobStore: files under <data>/media/blobs/<first two hex
// digits>/<name>, each written to a temporary name, synced and renamed, so
// an object is whole or absent after a crash. Partial uploads live beside
// them, in <data>/media/uploads/<id>, on the same file system (a finished
// upload becomes an object by a hard link, and its upload file then goes).
// Thread-safety: any thread (each call works on its own files).
#pragma once

#include "media/blob_store.h"

namespace natter::media {

class LocalBlobStore final : public BlobStore {
 public:
  // Creates the folders (mode 0700) under `root`.
  explicit LocalBlobStore(std::string root);

  std::string UploadsDir() const { return root_ + "/uploads"; }
  std::string UploadPath(int64_t upload_id) const;
  std::string BlobPath(std::string_view name) const;

  Status PutFile(const std::string& path, std::string_view name) override;
  Status PutBytes(std::string_view bytes, std::string_view name) override;
  Status Delete(std::string_view name) override;

 private:
  // The object's path, its folder made.
  Result<std::string> PrepareTarget(std::string_view name) const;
  std::string root_;
};

}  // namespace natter::media
