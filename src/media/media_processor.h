// What happens to an upload once its last byte is in: its bytes are checked
// against the type it declared and the limits of what they really are, then
// it becomes an attachment. An image is replaced by its display version and
// gets a thumbnail and a placeholder (media/image_derivatives.h); a GIF keeps
// its frames; audio, video and other files are stored as sent. Every object
// is stored through the catalog (media/object_catalog.h): once per content.
// Thread-safety: runs on a media worker thread (reads, decodes, hashes).
#pragma once

#include <string>

#include "media/attachment.h"
#include "media/media_limits.h"
#include "media/object_catalog.h"
#include "store/media_records.h"

namespace natter::media {

// `path` holds the upload's bytes; it is left where it is (the caller
// removes it once the outcome is recorded). BadRequest when the bytes contradict the declared type or are not
// what they claim to be, TooLarge past the limits of their kind.
Result<Attachment> ProcessUpload(const MediaUpload& upload, const std::string& path, ObjectCatalog& objects,
                                 const MediaLimits& limits);

}  // namespace natter::media
