// Uploads and downloads: what the gateway's tus endpoints and blob route and
// the media.* methods call. Every step that touches a file or the object
// store's small calls run on the `media-io` thread, processing (fetching,
// hashing, libvips) on the `media` pool, rows on the store's threads; each
// answer is posted to the caller's executor.
//
// With the local store, an upload is a row (store/media_records.h) and, while
// bytes arrive, a file under <data>/media/uploads named by its id: its size
// is the tus offset, so an upload survives a restart. One PATCH at a time per
// upload (a second is refused while one runs).
// With the S3 backend (direct_uploads.cc), the client PUTs the parts of a
// multipart upload straight to the bucket with presigned URLs; natterd then
// completes it, fetches it once to check and process it, and hands out
// presigned download URLs.
// A `media-sweep` thread deletes the rows of uploads that expired, and the
// bytes of those never finished.
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
#include "common/reloadable.h"
#include "common/thread_pool.h"
#include "media/attachment.h"
#include "media/download_url.h"
#include "media/local_blob_store.h"
#include "media/media_limits.h"
#include "media/s3_client.h"
#include "natter/clock.h"
#include "ops/media_metrics.h"
#include "store/store.h"

namespace natter::media {

struct MediaOptions {
  std::string root;  // <data>/media
  MediaLimits limits;
  int threads = 2;          // the processing pool
  size_t max_queued = 256;  // per pool; past it, `unavailable`
  // How often expired uploads are looked for and deleted.
  int64_t sweep_interval_ms = 60000;
  // Where the service counts what it does; null: its own, unseen.
  ops::MediaMetrics* metrics = nullptr;
};

struct UploadStatus {
  MediaUpload upload;
  int64_t offset = 0;  // bytes received; the size once finished
};

struct BlobSlice {
  int64_t size = 0;  // the whole object's
  std::string bytes;
};

// One part of a direct upload: the client PUTs exactly `size` bytes to `url`
// and keeps the ETag the store answers.
struct PartUrl {
  int number = 0;
  int64_t size = 0;
  std::string url;
};

// Where an upload's bytes go: natterd's tus endpoint (local store), or the
// object store, part by part (S3).
struct UploadTarget {
  MediaUpload upload;
  int64_t part_size = 0;            // S3 only
  std::vector<PartUrl> parts = {};  // S3 only; empty for tus
  int64_t urls_expire_at = 0;       // ms; S3 only
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

  // `s3`: the object store uploads go to; null keeps them on local disk.
  MediaService(Store& store, IdGenerator& ids, const Clock& clock, MediaOptions options, std::string url_key,
               std::unique_ptr<S3Client> s3 = nullptr);
  ~MediaService();  // Stop()
  // Finishes queued work and stops the pools; later calls are refused.
  void Stop();
  MediaService(const MediaService&) = delete;
  MediaService& operator=(const MediaService&) = delete;

  // The limits now: a reload (SetLimits) replaces them for uploads that start after it.
  std::shared_ptr<const MediaLimits> limits() const { return limits_.Get(); }
  void SetLimits(MediaLimits limits) { limits_.Set(std::move(limits)); }
  // How long the oldest task waiting in the io pool, or the processing pool, has waited.
  std::chrono::steady_clock::duration OldestQueued(bool io) const { return (io ? io_ : work_).OldestWait(); }
  // True when clients upload to the object store, not to natterd.
  bool direct_uploads() const { return s3_ != nullptr; }

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

  // media.create: Create, and where the bytes go (a tus URL, or presigned
  // part URLs with the S3 backend).
  void CreateTarget(Executor& ex, UserId user, int64_t length, std::string mime, std::string filename,
                    Done<UploadTarget> done);
  // media.parts: fresh part URLs for an unfinished direct upload (the first
  // ones may have expired while the phone was away).
  void PartUrls(Executor& ex, UserId user, int64_t id, Done<UploadTarget> done);
  // media.complete: the parts the client uploaded, by number and ETag; the
  // store joins them, then the upload is checked and processed as Complete.
  // A part list the store refuses leaves the upload as it was.
  void CompleteParts(Executor& ex, UserId user, int64_t id, std::vector<S3Part> parts, Done<Attachment> done);

  // A signed URL for one stored variant, valid for the configured time.
  std::string DownloadUrl(const StoredVariant& variant, std::string_view filename) const;
  int64_t DownloadUrlExpiry() const;
  Result<BlobGrant> VerifyDownload(std::string_view target) const;
  // Up to `max` bytes of an object from `offset`, and the object's size.
  void ReadBlob(Executor& ex, std::string name, int64_t offset, size_t max, Done<BlobSlice> done);

 private:
  friend class PatchTicket;
  bool Lock(int64_t id);
  void Unlock(int64_t id);
  void SweepLoop();
  // Lookup's second read, when the upload's file was gone.
  void Recheck(Executor& ex, UserId user, int64_t id, Done<UploadStatus> done);
  // Complete's work once the row says the upload is unfinished.
  void Process(Executor& ex, std::shared_ptr<PatchTicket> ticket, Done<Attachment> done);
  // Checks and processes the upload's bytes at `path`, storing its objects
  // in `blobs` (media-pool work); what was stored goes back on failure.
  Result<Attachment> ProcessInto(BlobStore& blobs, const MediaUpload& upload, const std::string& path);
  // The checks every new upload passes, and its row.
  Result<MediaUpload> Admit(UserId user, int64_t length, std::string mime, std::string filename);
  // Records a new upload, within the user's hourly count and quota.
  void Record(Executor& ex, MediaUpload upload, Done<MediaUpload> done);
  static Status CheckUsage(AccountsTxn& txn, const MediaUpload& upload, const MediaLimits& limits);
  // Records what processing made of the upload: ready, or refused (then it
  // goes); the bytes it arrived in go either way, unless it is kept to retry.
  void Finish(Executor& ex, std::shared_ptr<PatchTicket> ticket, Result<Attachment> r, Done<Attachment> done);
  // Removes what holds an upload's bytes (its file, and with the S3 backend
  // its object or unfinished multipart upload) on media-io, then runs `then`
  // on `ex`.
  void DiscardThen(Executor& ex, const MediaUpload& upload, std::function<void()> then);
  void DiscardNow(const MediaUpload& upload);
  // Where the client PUTs each part.
  UploadTarget DirectTarget(MediaUpload upload) const;
  // A direct upload's parts joined and its bytes fetched to its local file
  // (media-pool work); false when they are not the size declared.
  Result<bool> FetchDirect(const MediaUpload& upload, const std::vector<S3Part>& parts);
  // Takes the upload's lock and reads it: the caller's, unfinished, not
  // expired (PartUrls, CompleteParts).
  void LockOwnUnfinished(Executor& ex, UserId user, int64_t id, Done<std::shared_ptr<PatchTicket>> done);
  // Expires up to a batch of expired uploads; how many (media_sweep.cc).
  size_t SweepOnce();
  // Releases up to a batch of the uploads of messages deleted on
  // `partition` whose grace period is over; how many.
  size_t ReleaseDue(int partition);
  void DeleteObjects(const std::vector<std::string>& names);
  // Where objects are stored: the data directory, or the bucket.
  BlobStore& Objects() { return s3_objects_ ? *s3_objects_ : static_cast<BlobStore&>(blobs_); }
  void RemoveStrayUploadFiles();
  bool Stopping();
  // Runs `work` on `pool` and posts its result to `ex`.
  template <class T>
  void Run(ThreadPool& pool, Executor& ex, std::function<Result<T>()> work, Done<T> done);
  ops::MediaMetrics::Pool PoolOf(const ThreadPool& pool) const {
    return &pool == &io_ ? ops::MediaMetrics::kIo : ops::MediaMetrics::kWork;
  }

  Store& store_;
  IdGenerator& ids_;
  const Clock& clock_;
  const MediaOptions options_;
  Reloadable<MediaLimits> limits_;  // options_.limits, then a reload's
  ops::MediaMetrics own_metrics_;   // when the options name none
  ops::MediaMetrics& metrics_;
  LocalBlobStore blobs_;  // with S3: only the uploads' local copies
  std::unique_ptr<S3Client> s3_;
  std::unique_ptr<BlobStore> s3_objects_;  // over s3_
  DownloadUrls urls_;
  Mutex mu_;
  std::set<int64_t> busy_ GUARDED_BY(mu_);
  std::condition_variable sweep_cv_;
  bool stopping_ GUARDED_BY(mu_) = false;
  ThreadPool io_;        // file appends, reads, sizes
  ThreadPool work_;      // processing
  std::thread sweeper_;  // last: it uses everything above
};

template <class T>
void MediaService::Run(ThreadPool& pool, Executor& ex, std::function<Result<T>()> work, Done<T> done) {
  auto shared_done = std::make_shared<Done<T>>(std::move(done));
  auto which = PoolOf(pool);
  metrics_.Enqueued(which);  // before: the task may start before Submit returns
  bool queued = pool.Submit([this, which, &ex, work = std::move(work), shared_done] {
    metrics_.Started(which);
    auto result = std::make_shared<Result<T>>(work());
    ex.Post([shared_done, result] { (*shared_done)(std::move(*result)); });
  });
  if (!queued) {
    metrics_.Rejected(which);
    ex.Post([shared_done] { (*shared_done)(Unavailable("media work is queued to its limit; try again")); });
  }
}

}  // namespace natter::media
