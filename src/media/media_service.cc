#include "media/media_service.h"

#include <charconv>
#include <chrono>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "media/file_io.h"
#include "media/media_processor.h"
#include "media/object_catalog.h"
#include "media/s3_blob_store.h"
#include "store/store_waits.h"

namespace natter::media {
namespace {

// Processing that did not run for want of room (a full queue, a stop) is
// tried again; any other failure is the upload's outcome: it is refused, and
// goes (a failure that would come back on every try must not stay).
bool Refused(const Error& e) { return e.code != ErrorCode::kUnavailable; }

}  // namespace

void PatchTicket::Release() {
  if (!released_.exchange(true)) owner_.Unlock(upload_.id);
}

MediaService::MediaService(Store& store, IdGenerator& ids, const Clock& clock, MediaOptions options,
                           std::string url_key, std::unique_ptr<S3Client> s3)
    : store_(store),
      ids_(ids),
      clock_(clock),
      options_(std::move(options)),
      limits_(options_.limits),
      metrics_(options_.metrics ? *options_.metrics : own_metrics_),
      blobs_(options_.root),
      s3_(std::move(s3)),
      s3_objects_(s3_ ? std::make_unique<S3Blobs>(*s3_) : nullptr),
      urls_(std::move(url_key)),
      io_("media-io", 1, options_.max_queued),
      work_("media", options_.threads, options_.max_queued) {
  InitImageCodecs();
  if (s3_) s3_->OnFailure([this] { metrics_.StoreError(); });
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
  // Work still queued is dropped, not waited for: an upload whose
  // processing did not run is processed when its client next asks
  // (Lookup), and a file whose removal did not run is removed by the sweep.
  work_.StopDiscarding();
  io_.StopDiscarding();
}

bool MediaService::Lock(int64_t id) {
  MutexLock lock(mu_);
  return busy_.insert(id).second;
}

void MediaService::Unlock(int64_t id) {
  MutexLock lock(mu_);
  busy_.erase(id);
}

Result<MediaUpload> MediaService::Admit(UserId user, int64_t length, std::string mime, std::string filename) {
  auto snapshot = limits();
  const MediaLimits& limits = *snapshot;
  std::string normalized = CheckedMime(mime);
  MediaKind kind = KindOfMime(normalized);
  if (length <= 0) return BadRequest("the upload's length must be a positive number of bytes");
  if (length > MaxBytesFor(limits, kind)) {
    return TooLarge("a " + std::string(MediaKindName(kind)) + " may have at most " +
                    std::to_string(MaxBytesFor(limits, kind)) + " bytes");
  }
  MediaUpload upload;
  upload.id = ids_.Next();
  upload.user_id = user;
  upload.size = length;
  upload.declared_mime = normalized;
  upload.filename = std::move(filename);
  upload.created_at = clock_.NowMs();
  upload.expires_at = upload.created_at + limits.upload_expiry_ms;
  return upload;
}

void MediaService::Create(Executor& ex, UserId user, int64_t length, std::string mime, std::string filename,
                          Done<MediaUpload> done) {
  if (s3_) return done(BadRequest("uploads to this server go to its object store: start them with media.create"));
  auto upload = Admit(user, length, std::move(mime), std::move(filename));
  if (!upload.ok()) return done(upload.take_error());
  Record(ex, std::move(*upload), std::move(done));
}

Status MediaService::CheckUsage(AccountsTxn& txn, const MediaUpload& upload, const MediaLimits& limits) {
  NATTER_TRY(auto usage, txn.GetMediaUsage(upload.user_id, upload.created_at - 3600 * 1000, upload.created_at));
  if (usage.uploads_since >= limits.uploads_per_hour) {
    return RateLimited("at most " + std::to_string(limits.uploads_per_hour) + " uploads an hour");
  }
  if (usage.bytes + upload.size > limits.quota_bytes) {
    return TooLarge("your media would exceed " + std::to_string(limits.quota_bytes) + " bytes");
  }
  return OkStatus();
}

void MediaService::Record(Executor& ex, MediaUpload upload, Done<MediaUpload> done) {
  store_.WriteAccountsResult<MediaUpload>(
      ex,
      [upload, limits = limits()](AccountsTxn& txn) -> Result<MediaUpload> {
        NATTER_RETURN_IF_ERROR(CheckUsage(txn, upload, *limits));
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
        if (upload->state == UploadState::kExpired || (upload->expires_at != 0 && upload->expires_at < now)) {
          return NotFound("the upload has expired");
        }
        return std::move(*upload);
      },
      [this, &ex, user, done = std::move(done)](Result<MediaUpload> r) mutable {
        if (!r.ok()) return done(r.take_error());
        MediaUpload upload = std::move(*r);
        if (upload.state != UploadState::kUploading) return done(UploadStatus{upload, upload.size});
        // A direct upload's bytes are in the object store until completed.
        if (s3_) return done(UploadStatus{upload, 0});
        std::string path = blobs_.UploadPath(upload.id);
        Run<UploadStatus>(
            io_, ex,
            [upload, path]() -> Result<UploadStatus> {
              std::error_code ec;
              // No file: none arrived yet, or the upload was processed since
              // it was read (its file goes once it is ready).
              if (!std::filesystem::exists(path, ec)) return UploadStatus{upload, -1};
              NATTER_TRY(int64_t offset, FileSize(path));
              return UploadStatus{upload, offset};
            },
            [this, &ex, user, done = std::move(done)](Result<UploadStatus> status) mutable {
              if (status.ok() && status->offset < 0) return Recheck(ex, user, status->upload.id, std::move(done));
              // Every byte is in but the upload was never processed (a crash
              // after the last write, a refusal for want of room, a last
              // chunk cut off): processing starts now, unless under way.
              if (status.ok() && status->offset == status->upload.size && Lock(status->upload.id)) {
                auto ticket = std::shared_ptr<PatchTicket>(new PatchTicket(*this, status->upload, status->offset));
                Complete(ex, std::move(ticket), [id = status->upload.id](Result<Attachment> r) {
                  if (!r.ok()) spdlog::info("media: upload {} not processed: {}", id, r.error().message);
                });
              }
              done(std::move(status));
            });
      });
}

void MediaService::Recheck(Executor& ex, UserId user, int64_t id, Done<UploadStatus> done) {
  store_.ReadAccountsResult<UploadStatus>(
      ex,
      [id, user](AccountsTxn& txn) -> Result<UploadStatus> {
        NATTER_TRY(auto upload, txn.FindUpload(id));
        if (!upload || upload->user_id != user || upload->state == UploadState::kExpired) {
          return NotFound("no such upload");
        }
        int64_t offset = upload->state == UploadState::kUploading ? 0 : upload->size;
        return UploadStatus{std::move(*upload), offset};
      },
      std::move(done));
}

void MediaService::LockOwnUnfinished(Executor& ex, UserId user, int64_t id, Done<std::shared_ptr<PatchTicket>> done) {
  // The lock first, then the state: nothing else changes the upload between
  // what is checked here and what the caller does with it. The ticket holds
  // the lock from now on; a refusal lets it go before it is answered.
  if (!Lock(id)) return done(Conflict("another request is working on this upload"));
  MediaUpload pending;
  pending.id = id;
  auto ticket = std::shared_ptr<PatchTicket>(new PatchTicket(*this, std::move(pending), 0));
  store_.ReadAccountsResult<MediaUpload>(
      ex,
      [id, user, now = clock_.NowMs()](AccountsTxn& txn) -> Result<MediaUpload> {
        NATTER_TRY(auto upload, txn.FindUpload(id));
        if (!upload || upload->user_id != user) return NotFound("no such upload");
        if (upload->state != UploadState::kUploading) return Conflict("the upload is complete");
        if (upload->expires_at < now) return NotFound("the upload has expired");
        return std::move(*upload);
      },
      [ticket, done = std::move(done)](Result<MediaUpload> r) mutable {
        if (!r.ok()) {
          ticket->Release();
          return done(r.take_error());
        }
        ticket->upload_ = std::move(*r);
        done(std::move(ticket));
      });
}

void MediaService::BeginPatch(Executor& ex, UserId user, int64_t id, int64_t offset,
                              Done<std::shared_ptr<PatchTicket>> done) {
  if (s3_) return done(BadRequest("uploads to this server go to its object store: start them with media.create"));
  LockOwnUnfinished(ex, user, id,
                    [this, &ex, offset, done = std::move(done)](Result<std::shared_ptr<PatchTicket>> r) mutable {
                      if (!r.ok()) return done(r.take_error());
                      auto ticket = std::move(*r);
                      ticket->offset_ = offset;
                      std::string path = blobs_.UploadPath(ticket->upload_.id);
                      Run<int64_t>(
                          io_, ex, [path] { return FileSize(path); },
                          [ticket, done = std::move(done)](Result<int64_t> size) mutable {
                            if (!size.ok() || *size != ticket->offset_) ticket->Release();
                            if (!size.ok()) return done(size.take_error());
                            if (*size != ticket->offset_) {
                              return done(Conflict("Upload-Offset is " + std::to_string(ticket->offset_) +
                                                   " but the upload holds " + std::to_string(*size) + " bytes"));
                            }
                            done(std::move(ticket));
                          });
                    });
}

void MediaService::Append(Executor& ex, std::shared_ptr<PatchTicket> ticket, std::string bytes, Done<int64_t> done) {
  if (ticket->offset_ + static_cast<int64_t>(bytes.size()) > ticket->upload_.size) {
    return done(TooLarge("more bytes than Upload-Length"));
  }
  std::string path = blobs_.UploadPath(ticket->upload_.id);
  Run<int64_t>(
      io_, ex,
      [this, ticket, path, bytes = std::move(bytes)]() -> Result<int64_t> {
        auto appended = AppendAt(path, ticket->offset_, bytes);
        if (!appended.ok()) metrics_.StoreError();
        NATTER_TRY(int64_t offset, std::move(appended));
        // Read only on the caller's executor after this posts, in order.
        ticket->offset_ = offset;
        return offset;
      },
      std::move(done));
}

void MediaService::SyncUpload(Executor& ex, std::shared_ptr<PatchTicket> ticket, Done<int64_t> done) {
  std::string path = blobs_.UploadPath(ticket->upload_.id);
  Run<int64_t>(
      io_, ex,
      [this, ticket, path]() -> Result<int64_t> {
        auto synced = SyncFile(path);
        if (!synced.ok()) metrics_.StoreError();
        NATTER_RETURN_IF_ERROR(synced);
        return ticket->offset_;
      },
      std::move(done));
}

void MediaService::Complete(Executor& ex, std::shared_ptr<PatchTicket> ticket, Done<Attachment> done) {
  // The outcome is recorded before it is answered; the lock goes in between.
  done = [ticket, done = std::move(done)](Result<Attachment> r) {
    ticket->Release();
    done(std::move(r));
  };
  // Under the ticket's lock, the row read again: only an unfinished upload is
  // processed (another request may have finished it since it was looked at).
  store_.ReadAccountsResult<bool>(
      ex,
      [id = ticket->upload_.id](AccountsTxn& txn) -> Result<bool> {
        NATTER_TRY(auto upload, txn.FindUpload(id));
        if (!upload || upload->state != UploadState::kUploading) return Conflict("the upload is not unfinished");
        return true;
      },
      [this, &ex, ticket, done = std::move(done)](Result<bool> r) mutable {
        if (!r.ok()) return done(r.take_error());
        Process(ex, std::move(ticket), std::move(done));
      });
}

void MediaService::Process(Executor& ex, std::shared_ptr<PatchTicket> ticket, Done<Attachment> done) {
  std::string path = blobs_.UploadPath(ticket->upload_.id);
  Run<Attachment>(
      work_, ex, [this, ticket, path]() { return ProcessInto(blobs_, ticket->upload_, path); },
      [this, &ex, ticket, done = std::move(done)](Result<Attachment> r) mutable {
        Finish(ex, std::move(ticket), std::move(r), std::move(done));
      });
}

Result<Attachment> MediaService::ProcessInto(BlobStore& blobs, const MediaUpload& upload, const std::string& path) {
  auto started = std::chrono::steady_clock::now();
  ObjectCatalog objects(store_, ids_, blobs);
  auto a = ProcessUpload(upload, path, objects, *limits());
  if (!a.ok()) objects.Undo();
  metrics_.ProcessingTime(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count());
  return a;
}

void MediaService::Finish(Executor& ex, std::shared_ptr<PatchTicket> ticket, Result<Attachment> r,
                          Done<Attachment> done) {
  int64_t id = ticket->upload_.id;
  if (!r.ok()) {
    auto error = std::make_shared<Error>(r.take_error());
    // Kept as it is for another try (HEAD starts one), unless refused:
    // then the upload and its bytes go.
    metrics_.Processed(Refused(*error) ? ops::MediaMetrics::kRefused : ops::MediaMetrics::kFailed);
    if (!Refused(*error)) return done(*error);
    store_.WriteAccounts(
        ex,
        [id](AccountsTxn& txn) -> Status {
          NATTER_TRY(auto upload, txn.FindUpload(id));
          if (upload && upload->state == UploadState::kUploading) return txn.DeleteUpload(id);
          return OkStatus();
        },
        [this, &ex, ticket, error, done = std::move(done)](Status) mutable {
          DiscardThen(ex, ticket->upload_, [ticket, error, done = std::move(done)] { done(*error); });
        });
    return;
  }
  Attachment a = std::move(*r);
  int64_t expires_at = clock_.NowMs() + limits()->upload_expiry_ms;
  std::string info = InfoText(a);  // before `a` moves into the answer
  store_.WriteAccountsResult<bool>(
      ex, [id, info = std::move(info), expires_at](AccountsTxn& txn) { return txn.FinishUpload(id, info, expires_at); },
      [this, &ex, ticket, a = std::move(a), done = std::move(done)](Result<bool> finished) mutable {
        if (!finished.ok()) return done(finished.take_error());  // perhaps recorded: nothing is given back
        if (!*finished) {
          // Not recorded (finished or removed meanwhile): the uses of its
          // objects taken for it go back.
          auto error = std::make_shared<Error>(Conflict("the upload was finished or removed meanwhile"));
          Run<bool>(
              io_, ex,
              [this, a]() -> Result<bool> {
                auto st = ObjectCatalog::Release(store_, Objects(), a);
                if (!st.ok()) spdlog::warn("media: objects not released: {}", st.error().message);
                return true;
              },
              [error, done = std::move(done)](Result<bool>) { done(*error); });
          return;
        }
        metrics_.Processed(ops::MediaMetrics::kReady, ticket->upload_.size);
        // Ready: the bytes it arrived in are not needed any more.
        DiscardThen(ex, ticket->upload_,
                    [ticket, a = std::move(a), done = std::move(done)]() mutable { done(std::move(a)); });
      });
}

void MediaService::DiscardNow(const MediaUpload& upload) {
  std::error_code ec;
  std::filesystem::remove(blobs_.UploadPath(upload.id), ec);
  if (!s3_) return;
  // An unfinished multipart upload keeps its parts (and their cost) until
  // aborted; a completed one is an object.
  if (upload.state == UploadState::kUploading && !upload.store_ref.empty()) {
    auto aborted = s3_->AbortMultipart(UploadKey(upload.id), upload.store_ref);
    if (!aborted.ok()) spdlog::warn("media: upload {}: {}", upload.id, aborted.error().message);
  }
  auto deleted = s3_->Delete(UploadKey(upload.id));
  if (!deleted.ok()) spdlog::warn("media: upload {}: {}", upload.id, deleted.error().message);
}

void MediaService::DiscardThen(Executor& ex, const MediaUpload& upload, std::function<void()> then) {
  Run<bool>(
      io_, ex,
      [this, upload]() -> Result<bool> {
        DiscardNow(upload);
        return true;
      },
      [then = std::move(then)](Result<bool>) { then(); });
}

void MediaService::Terminate(Executor& ex, UserId user, int64_t id, Done<bool> done) {
  if (!Lock(id)) return done(Conflict("another request is working on this upload"));
  MediaUpload pending;
  pending.id = id;
  auto ticket = std::shared_ptr<PatchTicket>(new PatchTicket(*this, std::move(pending), 0));
  done = [ticket, done = std::move(done)](Result<bool> r) {
    ticket->Release();
    done(std::move(r));
  };
  store_.WriteAccountsResult<MediaUpload>(
      ex,
      [id, user](AccountsTxn& txn) -> Result<MediaUpload> {
        NATTER_TRY(auto upload, txn.FindUpload(id));
        if (!upload || upload->user_id != user || upload->state == UploadState::kExpired) {
          return NotFound("no such upload");
        }
        // A finished upload's objects may be another's too (content
        // addressing): it is not deleted by hand; unattached, it expires.
        if (upload->state != UploadState::kUploading) return Conflict("a finished upload cannot be deleted");
        NATTER_RETURN_IF_ERROR(txn.DeleteUpload(id));
        return std::move(*upload);
      },
      [this, &ex, ticket, done = std::move(done)](Result<MediaUpload> r) mutable {
        if (!r.ok()) return done(r.take_error());
        DiscardThen(ex, *r, [ticket, done = std::move(done)] { done(true); });
      });
}

int64_t MediaService::DownloadUrlExpiry() const { return clock_.NowSeconds() + limits()->url_ttl_s; }

std::string MediaService::DownloadUrl(const StoredVariant& variant, std::string_view filename) const {
  if (s3_) {
    DownloadHeaders headers = HeadersFor(variant.mime, filename);
    return s3_->PresignGet(BlobKey(ObjectName(variant)), limits()->url_ttl_s, headers.content_type,
                           headers.disposition);
  }
  return urls_.Sign(BlobGrant{ObjectName(variant), variant.mime, std::string(filename), DownloadUrlExpiry()});
}

Result<BlobGrant> MediaService::VerifyDownload(std::string_view target) const {
  return urls_.Verify(target, clock_.NowSeconds());
}

void MediaService::ReadBlob(Executor& ex, std::string name, int64_t offset, size_t max, Done<BlobSlice> done) {
  if (!IsObjectName(name)) return done(NotFound("no such object"));
  std::string path = blobs_.BlobPath(name);
  Run<BlobSlice>(
      io_, ex,
      [this, path, offset, max]() -> Result<BlobSlice> {
        BlobSlice slice;
        NATTER_TRY(slice.bytes, ReadSlice(path, offset, max));  // NotFound when there is no such file
        NATTER_TRY(slice.size, FileSize(path));
        metrics_.Served(slice.bytes.size());
        return slice;
      },
      std::move(done));
}

}  // namespace natter::media
