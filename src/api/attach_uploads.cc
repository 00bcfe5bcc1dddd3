#include "api/attach_uploads.h"

namespace natter::api {

namespace {

// The sender's upload `id` if `send_key`'s message may take it; reads only.
Result<MediaUpload> OwnUpload(AccountsTxn& txn, UserId user, int64_t id, int64_t now_ms, const std::string& send_key) {
  std::string name = "attachment " + std::to_string(id);
  NATTER_TRY(auto upload, txn.FindUpload(id));
  if (!upload || upload->user_id != user) return NotFound(name + " is not one of your uploads");
  switch (upload->state) {
    case UploadState::kUploading:
      return Conflict(name + " is still uploading");
    case UploadState::kAttached:
      // An upload is one message's: sending a file again uploads it again
      // (its bytes are stored once all the same).
      if (upload->attached_to != send_key) {
        return Conflict(name + " belongs to another message; upload the file again to send it again");
      }
      return std::move(*upload);
    case UploadState::kReady:
      if (upload->expires_at > now_ms) return std::move(*upload);
      break;
    case UploadState::kExpired:
      break;
  }
  return NotFound(name + " has expired");
}

// A video shown by the image its sender made of it: the image's thumbnail
// and display size become the video's `thumb` and `poster`, its placeholder
// the video's, and the image is released with it.
Status AddPoster(media::Attachment& video, const media::Attachment& image) {
  if (video.kind != media::MediaKind::kVideo) return BadRequest("only a video takes a thumb");
  if (image.kind != media::MediaKind::kImage) return BadRequest("a video's thumb must be an image");
  auto main = image.variants.find("main");
  if (main == image.variants.end()) return Internal("an image without its main variant");
  auto thumb = image.variants.find("thumb");
  video.variants["thumb"] = thumb != image.variants.end() ? thumb->second : main->second;
  video.variants["poster"] = main->second;
  video.blurhash = image.blurhash;
  video.thumb_upload = image.id;
  return OkStatus();
}

}  // namespace

Result<std::vector<media::Attachment>> AttachUploads(AccountsTxn& txn, UserId user,
                                                     const std::vector<AttachmentRef>& refs, int64_t now_ms,
                                                     const std::string& send_key, bool encrypted) {
  std::vector<media::Attachment> out;
  std::vector<int64_t> taken;
  for (const auto& ref : refs) {
    // An encrypted message's files are ciphertext the server cannot
    // process, and their captions go inside the message (docs/e2ee.md).
    if (encrypted && (ref.thumb != 0 || !ref.caption.empty())) {
      return BadRequest("an encrypted message's attachments carry no caption or thumb: those go inside it");
    }
    NATTER_TRY(auto upload, OwnUpload(txn, user, ref.id, now_ms, send_key));
    NATTER_TRY(auto a, media::ParseInfo(upload.info));
    if (encrypted && a.mime != "application/octet-stream") {
      return BadRequest("an encrypted message attaches only application/octet-stream uploads (encrypted files)");
    }
    taken.push_back(ref.id);
    if (ref.thumb != 0) {
      NATTER_TRY(auto image_upload, OwnUpload(txn, user, ref.thumb, now_ms, send_key));
      NATTER_TRY(auto image, media::ParseInfo(image_upload.info));
      NATTER_RETURN_IF_ERROR(AddPoster(a, image));
      taken.push_back(ref.thumb);
    }
    a.caption = ref.caption;
    out.push_back(std::move(a));
  }
  // Every one passed; only another node since the read (an expiry sweep, or
  // another send of the same user attaching it) can still refuse one now.
  // Read again, it tells which.
  for (int64_t id : taken) {
    NATTER_TRY(bool attached, txn.AttachUpload(id, user, now_ms, send_key));
    if (attached) continue;
    NATTER_TRY(auto now_is, OwnUpload(txn, user, id, now_ms, send_key));
    (void)now_is;
    return NotFound("attachment " + std::to_string(id) + " has expired");
  }
  return out;
}

}  // namespace natter::api
