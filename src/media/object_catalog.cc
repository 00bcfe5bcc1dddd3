#include "media/object_catalog.h"

#include <spdlog/spdlog.h>

#include "store/store_waits.h"

namespace natter::media {

std::string ObjectName(std::string_view sha256, int64_t generation) {
  std::string name(sha256);
  if (generation != 0) name += "-" + std::to_string(generation);
  return name;
}

std::string ObjectName(const StoredVariant& v) { return ObjectName(v.sha256, v.generation); }

bool IsObjectName(std::string_view s) {
  if (s.size() < 64) return false;
  for (char c : s.substr(0, 64)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  std::string_view rest = s.substr(64);
  if (rest.empty()) return true;
  if (rest.size() < 2 || rest.size() > 20 || rest[0] != '-') return false;
  for (char c : rest.substr(1)) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

namespace {

// The catalog's failures are the store's, never the upload's: processing is
// tried again (`unavailable`) rather than the upload refused.
Error Retry(Error e) {
  if (e.code == ErrorCode::kUnavailable) return e;
  spdlog::warn("media: the object catalog failed: {}", e.message);
  return Unavailable("media storage is not available; try again");
}

}  // namespace

template <class Put>
Result<int64_t> ObjectCatalog::Take(std::string_view sha256, Put put) {
  std::string sha(sha256);
  auto existing =
      WriteAccountsSync<std::optional<int64_t>>(store_, [sha](AccountsTxn& txn) { return txn.RefObject(sha); });
  if (!existing.ok()) return Retry(existing.take_error());
  if (*existing) {
    taken_.emplace_back(sha, **existing);
    return **existing;
  }
  int64_t generation = ids_.Next();
  std::string name = ObjectName(sha, generation);
  if (Status put_status = put(name); !put_status.ok()) return Retry(put_status.error());
  auto used = WriteAccountsSync<int64_t>(
      store_, [sha, generation](AccountsTxn& txn) { return txn.AddObject(sha, generation); });
  // A failure may have committed all the same: the object stays (storage
  // lost at worst). Another object of the same bytes catalogued first: this
  // one is nobody's.
  if (!used.ok()) return Retry(used.take_error());
  if (*used != generation) (void)blobs_.Delete(name);
  taken_.emplace_back(sha, *used);
  return *used;
}

Result<int64_t> ObjectCatalog::StoreFile(const std::string& path, std::string_view sha256) {
  return Take(sha256, [&](const std::string& name) { return blobs_.PutFile(path, name); });
}

Result<int64_t> ObjectCatalog::StoreBytes(std::string_view bytes, std::string_view sha256) {
  return Take(sha256, [&](const std::string& name) { return blobs_.PutBytes(bytes, name); });
}

void ObjectCatalog::Undo() {
  Attachment taken;
  for (const auto& [sha, generation] : taken_) {
    taken.variants["v" + std::to_string(taken.variants.size())] = StoredVariant{sha, "", 0, generation};
  }
  taken_.clear();
  auto st = Release(store_, blobs_, taken);
  if (!st.ok()) spdlog::warn("media: objects of a refused upload not released: {}", st.error().message);
}

Result<std::vector<std::string>> ObjectCatalog::Unref(AccountsTxn& txn, const Attachment& a) {
  std::vector<std::string> unused;
  for (const auto& [variant, v] : a.variants) {
    if (v.generation == 0) continue;  // uncounted: kept
    NATTER_TRY(bool last, txn.UnrefObject(v.sha256, v.generation));
    if (last) unused.push_back(ObjectName(v));
  }
  return unused;
}

Status ObjectCatalog::Release(Store& store, BlobStore& blobs, const Attachment& a) {
  auto unused = WriteAccountsSync<std::vector<std::string>>(store, [a](AccountsTxn& txn) { return Unref(txn, a); });
  if (!unused.ok()) return unused.take_error();
  for (const auto& name : *unused) NATTER_RETURN_IF_ERROR(blobs.Delete(name));
  return OkStatus();
}

}  // namespace natter::media
