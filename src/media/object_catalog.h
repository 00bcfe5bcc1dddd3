// Which stored objects exist, and who uses them. The same bytes uploaded
// twice (a forwarded photo) are one object, so an object may go only when
// its last user does. The catalog, a row per content hash with the accounts
// (store.h: RefObject, AddObject, UnrefObject), counts the uploads using
// each object and names the generation it is stored under:
// <sha256>-<generation>.
//
// A row is written only after its object, and a deleted row is never
// reused (bytes uploaded again once their object was deleted are stored
// anew under a new generation), so deleting an object can never take one
// that an upload has just started to use. A crash between an object's write
// and its row, or between a row's deletion and its object's, leaves an
// object nobody names: storage lost, never an attachment broken.
// Thread-safety: an ObjectCatalog is one processing's (a media thread's);
// it blocks on the store and the blob store.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/id_generator.h"
#include "media/attachment.h"
#include "media/blob_store.h"
#include "store/store.h"

namespace natter::media {

// "<sha256>-<generation>"; the hash alone for generation 0 (objects stored
// before the catalog, which it does not count and never deletes).
std::string ObjectName(std::string_view sha256, int64_t generation);
std::string ObjectName(const StoredVariant& v);
// 64 lowercase hex digits, then optionally '-' and a generation: a name that
// is safe as a file name and a key.
bool IsObjectName(std::string_view s);

class ObjectCatalog {
 public:
  ObjectCatalog(Store& store, IdGenerator& ids, BlobStore& blobs) : store_(store), ids_(ids), blobs_(blobs) {}

  // The bytes stored unless an object holding them is catalogued; either way
  // one use more of it: its generation.
  Result<int64_t> StoreFile(const std::string& path, std::string_view sha256);
  Result<int64_t> StoreBytes(std::string_view bytes, std::string_view sha256);
  // Processing failed: every use this catalog took is given back.
  void Undo();

  // One use less of each of the attachment's objects; those now unused are
  // deleted.
  static Status Release(Store& store, BlobStore& blobs, const Attachment& a);
  // The same inside an accounts transaction: the names of the objects to
  // delete once it commits.
  static Result<std::vector<std::string>> Unref(AccountsTxn& txn, const Attachment& a);

 private:
  template <class Put>
  Result<int64_t> Take(std::string_view sha256, Put put);
  Store& store_;
  IdGenerator& ids_;
  BlobStore& blobs_;
  std::vector<std::pair<std::string, int64_t>> taken_;
};

}  // namespace natter::media
