// What the store keeps of uploaded media: one row per upload, owned by its
// uploader, on the accounts partition. The row's `info` is the attachment as
// media/attachment.h writes it, opaque here.
#pragma once

#include <cstdint>
#include <string>

#include "natter/model.h"

namespace natter {

enum class UploadState {
  kUploading = 0,  // bytes still arriving; expires
  kReady = 1,      // checked and processed, `info` set; expires unless attached
  kAttached = 2,   // part of a sent message: kept while a message holds it
  kExpired = 3,    // was ready, never attached: its objects stay (and count) until deleted
};
// How the API names a state.
inline const char* UploadStateName(UploadState s) {
  switch (s) {
    case UploadState::kUploading:
      return "uploading";
    case UploadState::kReady:
      return "ready";
    case UploadState::kAttached:
      return "attached";
    case UploadState::kExpired:
      break;
  }
  return "expired";
}

struct MediaUpload {
  int64_t id = 0;
  UserId user_id = 0;
  int64_t size = 0;  // as declared when created; the bytes must be exactly this many
  std::string declared_mime;
  std::string filename;
  UploadState state = UploadState::kUploading;
  int64_t created_at = 0;  // ms
  int64_t expires_at = 0;  // ms; 0 once attached
  std::string info;        // set when ready
  // The object store's name for the upload under way (an S3 multipart
  // upload's id); empty with the local store.
  std::string store_ref = {};
  // Which send holds it once attached ("<conversation>:<client_msg_id>",
  // or "avatar:<user>"); empty before.
  std::string attached_to = {};
};

// What a user's uploads add up to, for the per-user limits.
struct MediaUsage {
  int64_t uploads_since = 0;  // uploads created since the time asked about
  int64_t bytes = 0;          // sizes of uploads holding storage: all but unfinished ones that expired
};

}  // namespace natter

#define UPLOAD_COLUMNS \
  "id, user_id, size, declared_mime, filename, state, created_at, expires_at, info, store_ref, attached_to"

namespace natter::rows {

// The UPLOAD_COLUMNS of `r`.
template <class Row>
MediaUpload ReadUpload(const Row& r) {
  MediaUpload u;
  u.id = r.Int(0);
  u.user_id = r.Int(1);
  u.size = r.Int(2);
  u.declared_mime = r.Text(3);
  u.filename = r.Text(4);
  u.state = static_cast<UploadState>(r.Int(5));
  u.created_at = r.Int(6);
  u.expires_at = r.Int(7);
  u.info = r.Text(8);
  u.store_ref = r.Text(9);
  u.attached_to = r.Text(10);
  return u;
}

}  // namespace natter::rows
