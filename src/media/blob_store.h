// Where media objects live, each under its name: the SHA-256 of its bytes and
// a generation (media/object_catalog.h decides which, and when an object
// goes). `local` keeps them under the data directory; an S3 store keeps them
// in a bucket.
// Thread-safety: implementations may be called from any media thread. Every
// call may block on disk or network: never call one on an I/O thread.
#pragma once

#include <string>
#include <string_view>

#include "natter/status.h"

namespace natter::media {

class BlobStore {
 public:
  virtual ~BlobStore() = default;
  // Stores the file at `path` (left in place) as object `name`; an object
  // already there is kept, the bytes being the same.
  virtual Status PutFile(const std::string& path, std::string_view name) = 0;
  virtual Status PutBytes(std::string_view bytes, std::string_view name) = 0;
  // Deleting what is not there succeeds.
  virtual Status Delete(std::string_view name) = 0;
};

}  // namespace natter::media
