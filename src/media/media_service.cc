#include "media/media_service.h"

#include <filesystem>

#include <spdlog/spdlog.h>

#include "media/file_io.h"
#include "media/media_processor.h"
#include "store/store_waits.h"

namespace natter::media {
namespace {

constexpr size_t kSweepBatch = 100;

}  // namespace

PatchTicket::~PatchTicket() { owner_.Unlock(upload_.id); }

MediaService::MediaService(Store& store, IdGenerator& ids, const Clock& clock, MediaOptions options,
                           std::string url_key)
    : store_(store),
      ids_(ids),
      clock_(clock),
      options_(std::move(options)),
      blobs_(options_.root),
      urls_(std::move(url_key)),
      io_("media-io", 1, options_.max_queued),
      work_("media", options_.threads, options_.max_queued) {
  InitImageCodecs();
  sweeper_ = std::thread([this] { SweepLoop(); });
}

MediaService::~MediaService() { Stop(); }

void MediaService::Stop() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  sweep_cv_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
  work_.Stop();
  io_.Stop();
}

void MediaService::SweepLoop() {
  for (;;) {
    {
      MutexLock lock(mu_);
      lock.WaitFor(sweep_cv_, std::chrono::milliseconds(options_.sweep_interval_ms),
                   [this]() REQUIRES(mu_) { return stopping_; });
      if (stopping_) return;
    }
    // A full batch may mean more: go on until a batch is short.
    while (SweepOnce() == kSweepBatch) {
      MutexLock lock(mu_);
      if (stopping_) return;
    }
  }
}

size_t MediaService::SweepOnce() {
  int64_t now = clock_.NowMs();
  auto expired =
      WriteAccountsSync<std::vector<MediaUpload>>(store_, [now](AccountsTxn& txn) -> Result<std::vector<MediaUpload>> {
        NATTER_TRY(auto list, txn.ListExpiredUploads(now, static_cast<int>(kSweepBatch)));
        for (const auto& u : list) NATTER_RETURN_IF_ERROR(txn.DeleteUpload(u.id));
        return list;
      });
  if (!expired.ok()) {
    spdlog::warn("media: expired uploads were not deleted: {}", expired.error().message);
    return 0;
  }
  for (const auto& u : *expired) {
    std::error_code ec;
    if (u.state == UploadState::kUploading) std::filesystem::remove(blobs_.UploadPath(u.id), ec);
  }
  if (!expired->empty()) spdlog::info("media: deleted {} expired upload(s)", expired->size());
  return expired->size();
}

template <class T>
void MediaService::Run(ThreadPool& pool, Executor& ex, std::function<Result<T>()> work, Done<T> done) {
  auto shared_done = std::make_shared<Done<T>>(std::move(done));
  bool queued = pool.Submit([&ex, work = std::move(work), shared_done] {
    auto result = std::make_shared<Result<T>>(work());
    ex.Post([shared_done, result] { (*shared_done)(std::move(*result)); });
  });
  if (!queued) ex.Post([shared_done] { (*shared_done)(Unavailable("media work is queued to its limit; try again")); });
}

bool MediaService::Lock(int64_t id) {
  MutexLock lock(mu_);
  return busy_.insert(id).second;
}

void MediaService::Unlock(int64_t id) {
  MutexLock lock(mu_);
  busy_.erase(id);
}

void MediaService::Create(Executor& ex, UserId user, int64_t length, std::string mime, std::string filename,
                          Done<MediaUpload> done) {
  const MediaLimits& limits = options_.limits;
  std::string normalized = NormalizeMime(mime);
  MediaKind kind = KindOfMime(normalized);
  if (length <= 0) return done(BadRequest("Upload-Length must be a positive number of bytes"));
  if (length > MaxBytesFor(limits, kind)) {
    return done(TooLarge("a " + std::string(MediaKindName(kind)) + " may have at most " +
                         std::to_string(MaxBytesFor(limits, kind)) + " bytes"));
  }
  MediaUpload upload;
  upload.id = ids_.Next();
  upload.user_id = user;
  upload.size = length;
  upload.declared_mime = normalized.empty() ? "application/octet-stream" : normalized;
  upload.filename = std::move(filename);
  upload.created_at = clock_.NowMs();
  upload.expires_at = upload.created_at + limits.upload_expiry_ms;
  store_.WriteAccountsResult<MediaUpload>(
      ex,
      [upload, &limits](AccountsTxn& txn) -> Result<MediaUpload> {
        NATTER_TRY(auto usage, txn.GetMediaUsage(upload.user_id, upload.created_at - 3600 * 1000, upload.created_at));
        if (usage.uploads_since >= limits.uploads_per_hour) {
          return RateLimited("at most " + std::to_string(limits.uploads_per_hour) + " uploads an hour");
        }
        if (usage.bytes + upload.size > limits.quota_bytes) {
          return TooLarge("your media would exceed " + std::to_string(limits.quota_bytes) + " bytes");
        }
        NATTER_RETURN_IF_ERROR(txn.InsertUpload(upload));
        return upload;
      },
      std::move(done));
}

void MediaService::Lookup(Executor& ex, UserId user, int64_t id, Done<UploadStatus> done) {
  int64_t now = clock_.NowMs();
  store_.ReadAccountsResult<MediaUpload>(
      ex,
      [id, user, now](AccountsTxn& txn) -> Result<MediaUpload> {
        NATTER_TRY(auto upload, txn.FindUpload(id));
        // Another user's upload reads as none at all.
        if (!upload || upload->user_id != user) return NotFound("no such upload");
        if (upload->expires_at != 0 && upload->expires_at < now) return NotFound("the upload has expired");
        return std::move(*upload);
      },
      [this, &ex, done = std::move(done)](Result<MediaUpload> r) mutable {
        if (!r.ok()) return done(r.take_error());
        MediaUpload upload = std::move(*r);
        if (upload.state != UploadState::kUploading) return done(UploadStatus{upload, upload.size});
        std::string path = blobs_.UploadPath(upload.id);
        Run<UploadStatus>(
            io_, ex,
            [upload, path]() -> Result<UploadStatus> {
              NATTER_TRY(int64_t offset, FileSize(path));
              return UploadStatus{upload, offset};
            },
            std::move(done));
      });
}

void MediaService::BeginPatch(Executor& ex, UserId user, int64_t id, int64_t offset,
                              Done<std::shared_ptr<PatchTicket>> done) {
  Lookup(ex, user, id, [this, offset, done = std::move(done)](Result<UploadStatus> r) {
    if (!r.ok()) return done(r.take_error());
    if (r->upload.state != UploadState::kUploading) return done(Conflict("the upload is complete"));
    if (r->offset != offset) {
      return done(Conflict("Upload-Offset is " + std::to_string(offset) + " but the upload holds " +
                           std::to_string(r->offset) + " bytes"));
    }
    if (!Lock(r->upload.id)) return done(Conflict("another request is uploading to this upload"));
    done(std::shared_ptr<PatchTicket>(new PatchTicket(*this, std::move(r->upload), offset)));
  });
}

void MediaService::Append(Executor& ex, std::shared_ptr<PatchTicket> ticket, std::string bytes, Done<int64_t> done) {
  if (ticket->offset_ + static_cast<int64_t>(bytes.size()) > ticket->upload_.size) {
    return done(TooLarge("more bytes than Upload-Length"));
  }
  std::string path = blobs_.UploadPath(ticket->upload_.id);
  Run<int64_t>(
      io_, ex,
      [ticket, path, bytes = std::move(bytes)]() -> Result<int64_t> {
        NATTER_TRY(int64_t offset, AppendAt(path, ticket->offset_, bytes));
        // Read only on the caller's executor after this posts, in order.
        ticket->offset_ = offset;
        return offset;
      },
      std::move(done));
}

void MediaService::Complete(Executor& ex, std::shared_ptr<PatchTicket> ticket, Done<Attachment> done) {
  std::string path = blobs_.UploadPath(ticket->upload_.id);
  Run<Attachment>(
      work_, ex, [this, ticket, path]() { return ProcessUpload(ticket->upload_, path, blobs_, options_.limits); },
      [this, &ex, ticket, done = std::move(done)](Result<Attachment> r) mutable {
        int64_t id = ticket->upload_.id;
        if (!r.ok()) {
          // Refused: its bytes are gone, and so is the upload.
          auto error = std::make_shared<Error>(r.take_error());
          store_.WriteAccounts(
              ex, [id](AccountsTxn& txn) { return txn.DeleteUpload(id); },
              [error, done = std::move(done)](Status) { done(*error); });
          return;
        }
        Attachment a = std::move(*r);
        int64_t expires_at = clock_.NowMs() + options_.limits.upload_expiry_ms;
        std::string info = InfoText(a);  // before `a` moves into the answer
        store_.WriteAccountsResult<bool>(
            ex,
            [id, info = std::move(info), expires_at](AccountsTxn& txn) {
              return txn.FinishUpload(id, info, expires_at);
            },
            [a = std::move(a), done = std::move(done)](Result<bool> finished) mutable {
              if (!finished.ok()) return done(finished.take_error());
              if (!*finished) return done(Conflict("the upload was finished or removed meanwhile"));
              done(std::move(a));
            });
      });
}

void MediaService::Terminate(Executor& ex, UserId user, int64_t id, Done<bool> done) {
  store_.WriteAccountsResult<bool>(
      ex,
      [id, user](AccountsTxn& txn) -> Result<bool> {
        NATTER_TRY(auto upload, txn.FindUpload(id));
        if (!upload || upload->user_id != user) return NotFound("no such upload");
        if (upload->state == UploadState::kAttached) return Conflict("the upload is attached to a message");
        NATTER_RETURN_IF_ERROR(txn.DeleteUpload(id));
        return true;
      },
      [this, &ex, id, done = std::move(done)](Result<bool> r) mutable {
        if (!r.ok()) return done(r.take_error());
        std::string path = blobs_.UploadPath(id);
        Run<bool>(
            io_, ex,
            [path]() -> Result<bool> {
              std::error_code ec;
              std::filesystem::remove(path, ec);
              return true;
            },
            std::move(done));
      });
}

int64_t MediaService::DownloadUrlExpiry() const { return clock_.NowSeconds() + options_.limits.url_ttl_s; }

std::string MediaService::DownloadUrl(const StoredVariant& variant, std::string_view filename) const {
  return urls_.Sign(BlobGrant{variant.sha256, variant.mime, std::string(filename), DownloadUrlExpiry()});
}

Result<BlobGrant> MediaService::VerifyDownload(std::string_view target) const {
  return urls_.Verify(target, clock_.NowSeconds());
}

void MediaService::ReadBlob(Executor& ex, std::string sha256, int64_t offset, size_t max, Done<BlobSlice> done) {
  if (!IsSha256Hex(sha256)) return done(NotFound("no such object"));
  std::string path = blobs_.BlobPath(sha256);
  Run<BlobSlice>(
      io_, ex,
      [path, offset, max]() -> Result<BlobSlice> {
        BlobSlice slice;
        NATTER_TRY(slice.bytes, ReadSlice(path, offset, max));  // NotFound when there is no such file
        NATTER_TRY(slice.size, FileSize(path));
        return slice;
      },
      std::move(done));
}

}  // namespace natter::media
