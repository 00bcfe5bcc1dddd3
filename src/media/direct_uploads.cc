// MediaService's uploads that go straight to the object store (the S3
// backend), and media.create for both backends.
//
// A direct upload is an S3 multipart upload to uploads/<id>, started by
// natterd when the upload is created. The client PUTs each part to a
// presigned URL whose Content-Length is signed (so the parts add up to the
// declared size, no more), keeps the ETags, and calls media.complete with
// them. natterd then joins the parts, fetches the object once to check its
// bytes and make its derivatives, and stores the results under blobs/<sha256>
// (the original by a copy inside the store); uploads/<id> then goes.
#include <spdlog/spdlog.h>

#include "media/media_processor.h"
#include "media/media_service.h"
#include "media/s3_blob_store.h"

namespace natter::media {
namespace {

// S3 takes parts of 5 MiB or more (the last excepted), at most 10,000.
constexpr int64_t kPartSize = 8LL << 20;
constexpr int64_t kMaxParts = 10000;
// A presigned URL lives at most a week.
constexpr int64_t kMaxUrlSeconds = 7 * 24 * 3600;

int64_t PartSizeFor(int64_t size) { return std::max(kPartSize, (size + kMaxParts - 1) / kMaxParts); }

}  // namespace

UploadTarget MediaService::DirectTarget(MediaUpload upload) const {
  UploadTarget target;
  target.part_size = PartSizeFor(upload.size);
  int64_t now_s = clock_.NowSeconds();
  int64_t expires_s = std::clamp<int64_t>(upload.expires_at / 1000 - now_s, 1, kMaxUrlSeconds);
  target.urls_expire_at = (now_s + expires_s) * 1000;
  std::string key = UploadKey(upload.id);
  int number = 1;
  for (int64_t offset = 0; offset < upload.size; offset += target.part_size, ++number) {
    int64_t size = std::min(target.part_size, upload.size - offset);
    target.parts.push_back(PartUrl{number, size, s3_->PresignPart(key, upload.store_ref, number, size, expires_s)});
  }
  target.upload = std::move(upload);
  return target;
}

void MediaService::CreateTarget(Executor& ex, UserId user, int64_t length, std::string mime, std::string filename,
                                Done<UploadTarget> done) {
  auto admitted = Admit(user, length, std::move(mime), std::move(filename));
  if (!admitted.ok()) return done(admitted.take_error());
  if (!s3_) {
    return Record(ex, std::move(*admitted), [done = std::move(done)](Result<MediaUpload> r) {
      if (!r.ok()) return done(r.take_error());
      done(UploadTarget{std::move(*r)});
    });
  }
  // The limits first (a user past them costs no request to the store), then
  // the multipart upload, whose id the row records; the limits are checked
  // again as the row is written, and an upload refused then is aborted.
  MediaUpload upload = std::move(*admitted);
  store_.ReadAccountsResult<bool>(
      ex,
      [upload, limits = limits()](AccountsTxn& txn) -> Result<bool> {
        NATTER_RETURN_IF_ERROR(CheckUsage(txn, upload, *limits));
        return true;
      },
      [this, &ex, upload, done = std::move(done)](Result<bool> within) mutable {
        if (!within.ok()) return done(within.take_error());
        Run<std::string>(
            io_, ex, [this, id = upload.id] { return s3_->CreateMultipart(UploadKey(id)); },
            [this, &ex, upload, done = std::move(done)](Result<std::string> ref) mutable {
              if (!ref.ok()) {
                spdlog::warn("media: {}", ref.error().message);
                return done(Unavailable("the object store did not take the upload; try again"));
              }
              upload.store_ref = std::move(*ref);
              Record(ex, upload, [this, &ex, upload, done = std::move(done)](Result<MediaUpload> r) mutable {
                if (r.ok()) return done(DirectTarget(std::move(*r)));
                auto error = std::make_shared<Error>(r.take_error());
                DiscardThen(ex, upload, [error, done = std::move(done)] { done(*error); });
              });
            });
      });
}

void MediaService::PartUrls(Executor& ex, UserId user, int64_t id, Done<UploadTarget> done) {
  if (!s3_) return done(BadRequest("uploads to this server are tus uploads: resume one with HEAD and PATCH"));
  LockOwnUnfinished(ex, user, id, [this, done = std::move(done)](Result<std::shared_ptr<PatchTicket>> r) {
    if (!r.ok()) return done(r.take_error());
    UploadTarget target = DirectTarget((*r)->upload());
    (*r)->Release();
    done(std::move(target));
  });
}

Result<bool> MediaService::FetchDirect(const MediaUpload& upload, const std::vector<S3Part>& parts) {
  std::string key = UploadKey(upload.id);
  Status joined = s3_->CompleteMultipart(key, upload.store_ref, parts);
  // NotFound: joined already (a first media.complete whose answer was lost),
  // or never started; the object tells which.
  if (!joined.ok() && joined.error().code != ErrorCode::kNotFound) return joined.error();
  auto size = s3_->Size(key);
  if (!size.ok()) {
    if (size.error().code == ErrorCode::kNotFound) return joined.ok() ? size.take_error() : joined.error();
    return size.take_error();
  }
  if (*size != upload.size) return false;
  NATTER_TRY(int64_t fetched, s3_->Download(key, blobs_.UploadPath(upload.id), upload.size));
  return fetched == upload.size;
}

void MediaService::CompleteParts(Executor& ex, UserId user, int64_t id, std::vector<S3Part> parts,
                                 Done<Attachment> done) {
  if (!s3_) return done(BadRequest("uploads to this server are tus uploads: they complete with their last PATCH"));
  if (parts.empty()) return done(BadRequest("parts must list every part uploaded"));
  LockOwnUnfinished(
      ex, user, id,
      [this, &ex, parts = std::move(parts), done = std::move(done)](Result<std::shared_ptr<PatchTicket>> r) mutable {
        if (!r.ok()) return done(r.take_error());
        auto ticket = std::move(*r);
        done = [ticket, done = std::move(done)](Result<Attachment> a) {
          ticket->Release();
          done(std::move(a));
        };
        // Every part, or the store would join what is there and the upload
        // would be refused for its size.
        int64_t size = ticket->upload().size;
        auto expected = static_cast<size_t>((size + PartSizeFor(size) - 1) / PartSizeFor(size));
        if (parts.size() != expected) {
          return done(BadRequest("parts must list all " + std::to_string(expected) + " parts of the upload"));
        }
        Run<bool>(
            work_, ex, [this, ticket, parts = std::move(parts)] { return FetchDirect(ticket->upload(), parts); },
            [this, &ex, ticket, done = std::move(done)](Result<bool> whole) mutable {
              // Parts the store would not join leave the upload as it was:
              // the client may send the right list, or upload what is missing.
              if (!whole.ok()) {
                if (whole.error().code == ErrorCode::kUnavailable) metrics_.Processed(ops::MediaMetrics::kFailed);
                return done(whole.take_error());
              }
              // Joined: no multipart upload is left to abort.
              ticket->upload_.store_ref.clear();
              if (!*whole) {
                return Finish(ex, std::move(ticket),
                              BadRequest("the uploaded parts do not add up to the " +
                                         std::to_string(ticket->upload().size) + " bytes declared"),
                              std::move(done));
              }
              std::string path = blobs_.UploadPath(ticket->upload().id);
              Run<Attachment>(
                  work_, ex,
                  [this, ticket, path] {
                    S3Blobs blobs(*s3_, path, UploadKey(ticket->upload().id));
                    return ProcessInto(blobs, ticket->upload(), path);
                  },
                  [this, &ex, ticket, done = std::move(done)](Result<Attachment> a) mutable {
                    Finish(ex, std::move(ticket), std::move(a), std::move(done));
                  });
            });
      });
}

}  // namespace natter::media
