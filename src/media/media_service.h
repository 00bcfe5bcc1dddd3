// Uploads and downloads with the local blob store: what the gateway's tus
// endpoints and blob route call. Every step that touches a file runs on the
// `media-io` thread, processing (hashing, libvips) on the `media` pool, rows
// on the store's threads; each answer is posted to the caller's executor.
//
// An upload is a row (store/media_records.h) and, while bytes arrive, a file
// under <data>/media/uploads named by its id: its size is the tus offset, so
// an upload survives a restart. One PATCH at a time per upload (a second is
// refused while one runs). A `media-sweep` thread deletes the rows of
// uploads that expired, and the bytes of those never finished.
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "common/executor.h"
#include "common/id_generator.h"
#include "common/mutex.h"
#include "common/thread_pool.h"
#include "media/attachment.h"
#include "media/download_url.h"
#include "media/local_blob_store.h"
#include "media/media_limits.h"
#include "natter/clock.h"
#include "store/store.h"

namespace natter::media {

struct MediaOptions {
  std::string root;  // <data>/media
  MediaLimits limits;
  int threads = 2;          // the processing pool
  size_t max_queued = 256;  // per pool; past it, `unavailable`
  // How often expired uploads are looked for and deleted.
  int64_t sweep_interval_ms = 60000;
};

struct UploadStatus {
  MediaUpload upload;
  int64_t offset = 0;  // bytes received; the size once finished
};

struct BlobSlice {
  int64_t size = 0;  // the whole object's
  std::string bytes;
};

class MediaService;

// A PATCH under way (or processing, or a DELETE): holds the upload, its
// offset, and the upload's lock. The lock goes with Release(), which is
// called as soon as the work is answered: copies of the ticket may live a
// little longer in closures on other threads, and the client's next request
// must find the upload free. The last copy releases it in any case.
class PatchTicket {
 public:
  ~PatchTicket() { Release(); }
  const MediaUpload& upload() const { return upload_; }
  int64_t offset() const { return offset_; }
  void Release();

 private:
  friend class MediaService;
  PatchTicket(MediaService& owner, MediaUpload upload, int64_t offset)
      : owner_(owner), upload_(std::move(upload)), offset_(offset) {}
  MediaService& owner_;
  MediaUpload upload_;
  int64_t offset_;
  std::atomic<bool> released_{false};
};

class MediaService {
 public:
  template <class T>
  using Done = std::function<void(Result<T>)>;

  MediaService(Store& store, IdGenerator& ids, const Clock& clock, MediaOptions options, std::string url_key);
  ~MediaService();  // Stop()
  // Finishes queued work and stops the pools; later calls are refused.
  void Stop();
  MediaService(const MediaService&) = delete;
  MediaService& operator=(const MediaService&) = delete;

  const MediaLimits& limits() const { return options_.limits; }

  // tus creation: checks the size against the declared type's limit and the
  // user's hourly count and quota, then records the upload.
  void Create(Executor& ex, UserId user, int64_t length, std::string mime, std::string filename,
              Done<MediaUpload> done);
  // The upload and its offset; NotFound for another user's. An upload whose
  // every byte is in but was never processed is processed now.
  void Lookup(Executor& ex, UserId user, int64_t id, Done<UploadStatus> done);
  // Takes the upload's lock when `offset` is where it stands (Conflict
  // otherwise, or when another PATCH runs).
  void BeginPatch(Executor& ex, UserId user, int64_t id, int64_t offset, Done<std::shared_ptr<PatchTicket>> done);
  // Appends the next bytes; the new offset.
  void Append(Executor& ex, std::shared_ptr<PatchTicket> ticket, std::string bytes, Done<int64_t> done);
  // Makes the bytes appended so far durable; the offset.
  void SyncUpload(Executor& ex, std::shared_ptr<PatchTicket> ticket, Done<int64_t> done);
  // After the last byte: checks and processes the upload and marks it ready.
  // A refused upload is deleted; one that failed otherwise is kept for
  // another try (Lookup starts one when every byte is in).
  void Complete(Executor& ex, std::shared_ptr<PatchTicket> ticket, Done<Attachment> done);
  // tus termination of an unfinished upload: it and its bytes go (Conflict
  // once finished).
  void Terminate(Executor& ex, UserId user, int64_t id, Done<bool> done);

  // A signed URL for one stored variant, valid for the configured time.
  std::string DownloadUrl(const StoredVariant& variant, std::string_view filename) const;
  int64_t DownloadUrlExpiry() const;
  Result<BlobGrant> VerifyDownload(std::string_view target) const;
  // Up to `max` bytes of an object from `offset`, and the object's size.
  void ReadBlob(Executor& ex, std::string sha256, int64_t offset, size_t max, Done<BlobSlice> done);

 private:
  friend class PatchTicket;
  bool Lock(int64_t id);
  void Unlock(int64_t id);
  void SweepLoop();
  // Lookup's second read, when the upload's file was gone.
  void Recheck(Executor& ex, UserId user, int64_t id, Done<UploadStatus> done);
  // Complete's work once the row says the upload is unfinished.
  void Process(Executor& ex, std::shared_ptr<PatchTicket> ticket, Done<Attachment> done);
  // Removes a file on media-io, then runs `then` on `ex`.
  void RemoveThen(Executor& ex, const std::string& path, std::function<void()> then);
  // Expires up to a batch of expired uploads; how many.
  size_t SweepOnce();
  void RemoveStrayUploadFiles();
  bool Stopping();
  // Runs `work` on `pool` and posts its result to `ex`.
  template <class T>
  void Run(ThreadPool& pool, Executor& ex, std::function<Result<T>()> work, Done<T> done);

  Store& store_;
  IdGenerator& ids_;
  const Clock& clock_;
  const MediaOptions options_;
  LocalBlobStore blobs_;
  DownloadUrls urls_;
  Mutex mu_;
  std::set<int64_t> busy_ GUARDED_BY(mu_);
  std::condition_variable sweep_cv_;
  bool stopping_ GUARDED_BY(mu_) = false;
  ThreadPool io_;        // file appends, reads, sizes
  ThreadPool work_;      // processing
  std::thread sweeper_;  // last: it uses everything above
};

}  // namespace natter::media
