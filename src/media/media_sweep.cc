// MediaService's `media-sweep` thread: what expires or is released goes.
// - Uploads past their expiry: an unfinished one with its bytes (its file, or
//   its multipart upload in the object store); a ready one never attached
//   with its objects, unless another upload uses them (media/object_catalog.h).
// - Uploads of deleted messages and replaced profile pictures, once their
//   grace period is over (a `media_releases` row in the message's
//   partition, or the accounts' for a picture, written with the change):
//   the same.
// - Files under uploads/ left by a stop or a crash.
// Every step reads the upload again under its lock, so an upload that a
// request is working on is left for the next round.
#include <charconv>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "media/media_service.h"
#include "media/object_catalog.h"
#include "store/store_waits.h"

namespace natter::media {
namespace {

constexpr size_t kSweepBatch = 100;

// What a sweep transaction leaves to do once it commits.
struct Leftovers {
  bool discard_bytes = false;       // the upload was unfinished
  std::vector<std::string> unused;  // objects nobody uses any more
};

// Deletes a finished upload's row, if it is still in the state it was read
// in (and expired, for an expiry), and gives back its objects' uses: only the
// one that deleted it, on whichever node.
Result<Leftovers> DropFinished(AccountsTxn& txn, const MediaUpload& upload, int64_t expired_before) {
  Leftovers out;
  NATTER_TRY(bool deleted, txn.DeleteUploadIf(upload.id, upload.state, expired_before));
  if (!deleted) return out;
  auto attachment = ParseInfo(upload.info);
  if (attachment.ok()) {
    NATTER_TRY(out.unused, ObjectCatalog::Unref(txn, *attachment));
  } else {
    spdlog::warn("media: upload {} has no readable description: {}", upload.id, attachment.error().message);
  }
  return out;
}

}  // namespace

void MediaService::SweepLoop() {
  RemoveStrayUploadFiles();  // what a stop or a crash left
  for (;;) {
    {
      MutexLock lock(mu_);
      lock.WaitFor(sweep_cv_, std::chrono::milliseconds(options_.sweep_interval_ms),
                   [this]() REQUIRES(mu_) { return stopping_; });
      if (stopping_) return;
    }
    // A full batch swept may mean more; one with rows left (locked, or a
    // failing write) waits for the next round.
    while (SweepOnce() == kSweepBatch) {
      if (Stopping()) return;
    }
    for (int p = 0; p < store_.Partitions() && !Stopping(); ++p) {
      while (ReleaseDue(p) == kSweepBatch) {
        if (Stopping()) return;
      }
    }
    RemoveStrayUploadFiles();
  }
}

bool MediaService::Stopping() {
  MutexLock lock(mu_);
  return stopping_;
}

void MediaService::DeleteObjects(const std::vector<std::string>& names) {
  for (const auto& name : names) {
    auto st = Objects().Delete(name);
    if (st.ok()) {
      metrics_.ObjectDeleted();
    } else {
      if (!s3_) metrics_.StoreError();  // the object store's failures are counted by its client
      spdlog::warn("media: object {} not deleted: {}", name, st.error().message);
    }
  }
}

size_t MediaService::SweepOnce() {
  int64_t now = clock_.NowMs();
  auto expired = ReadAccountsSync<std::vector<MediaUpload>>(
      store_, [now](AccountsTxn& txn) { return txn.ListExpiredUploads(now, static_cast<int>(kSweepBatch)); });
  if (!expired.ok()) {
    spdlog::warn("media: expired uploads were not looked for: {}", expired.error().message);
    return 0;
  }
  size_t swept = 0;
  for (const auto& u : *expired) {
    if (Stopping()) break;
    // One under way (a PATCH, processing) is left for the next sweep.
    if (!Lock(u.id)) continue;
    int64_t id = u.id;
    // Read again under the lock: the upload may have been attached since it
    // was listed.
    auto left = WriteAccountsSync<Leftovers>(store_, [id, now](AccountsTxn& txn) -> Result<Leftovers> {
      NATTER_TRY(auto upload, txn.FindUpload(id));
      if (!upload || upload->expires_at == 0 || upload->expires_at >= now) return Leftovers{};
      if (upload->state == UploadState::kUploading) {
        NATTER_TRY(bool deleted, txn.DeleteUploadIf(id, UploadState::kUploading, now));
        return Leftovers{deleted, {}};
      }
      return DropFinished(txn, *upload, now);
    });
    if (left.ok()) {
      if (left->discard_bytes) DiscardNow(u);
      DeleteObjects(left->unused);
      ++swept;
    }
    Unlock(id);
  }
  if (swept > 0) spdlog::info("media: {} upload(s) expired", swept);
  return swept;
}

size_t MediaService::ReleaseDue(int partition) {
  int64_t now = clock_.NowMs();
  auto due = ReadSync<std::vector<int64_t>>(store_, partition, [now](ConversationTxn& txn) {
    return txn.ListDueMediaReleases(now, static_cast<int>(kSweepBatch));
  });
  if (!due.ok()) {
    spdlog::warn("media: released uploads were not looked for: {}", due.error().message);
    return 0;
  }
  size_t released = 0;
  for (int64_t id : *due) {
    if (Stopping()) break;
    if (!Lock(id)) continue;
    auto left = WriteAccountsSync<Leftovers>(store_, [id](AccountsTxn& txn) -> Result<Leftovers> {
      NATTER_TRY(auto upload, txn.FindUpload(id));
      if (!upload || upload->state != UploadState::kAttached) return Leftovers{};  // gone already
      return DropFinished(txn, *upload, 0);
    });
    Unlock(id);
    if (!left.ok()) continue;
    DeleteObjects(left->unused);
    // Last: a crash before it releases the upload again, which finds it gone.
    auto done = WriteSync<bool>(store_, WriteKey(partition), [id](ConversationTxn& txn) -> Result<bool> {
      NATTER_RETURN_IF_ERROR(txn.DeleteMediaRelease(id));
      return true;
    });
    if (done.ok()) ++released;
  }
  if (released > 0) spdlog::info("media: {} upload(s) of deleted messages or replaced pictures released", released);
  return released;
}

void MediaService::RemoveStrayUploadFiles() {
  // A file under uploads/ whose upload is not unfinished: its outcome was
  // recorded but the file's removal was refused (a full queue, a stop), or
  // the process died in between. An image's original must not stay.
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(blobs_.UploadsDir(), ec)) {
    if (Stopping()) return;
    int64_t id = 0;
    std::string name = entry.path().filename().string();
    auto [p, err] = std::from_chars(name.data(), name.data() + name.size(), id);
    if (err != std::errc() || p != name.data() + name.size() || id <= 0 || !Lock(id)) continue;
    auto upload =
        ReadAccountsSync<std::optional<MediaUpload>>(store_, [id](AccountsTxn& txn) { return txn.FindUpload(id); });
    if (upload.ok() && (!*upload || (*upload)->state != UploadState::kUploading)) {
      std::error_code remove_ec;
      std::filesystem::remove(entry.path(), remove_ec);
    }
    Unlock(id);
  }
}

}  // namespace natter::media
