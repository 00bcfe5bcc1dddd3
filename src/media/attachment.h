// An attachment as natterd keeps it: what clients are shown (kind, type,
// size, dimensions, duration, placeholder, name, caption) and, for natterd
// alone, the stored objects behind it (a content hash per variant: "main",
// the file a client downloads, and "thumb" where there is one).
//
// Two JSON forms: the upload's `info` (one attachment, no caption) and a
// message's `attachments` column (an array, with captions). Clients get the
// public form, without the hashes.
// Thread-safety: plain values and pure functions.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "media/content_type.h"
#include "natter/status.h"

namespace natter::media {

struct StoredVariant {
  std::string sha256;  // hex, of the bytes
  std::string mime;
  int64_t size = 0;
  // Which object holds them (media/object_catalog.h); 0 for objects stored
  // before the catalog, named by their hash alone.
  int64_t generation = 0;
};

struct Attachment {
  int64_t id = 0;  // the upload's id
  MediaKind kind = MediaKind::kFile;
  std::string mime;  // of the main variant
  int64_t size = 0;  // of the main variant
  int width = 0;     // images: upright, of the main variant; 0 otherwise
  int height = 0;
  int64_t duration_ms = 0;  // audio and video, when known
  std::string blurhash;
  std::string filename;
  std::string caption;
  std::map<std::string, StoredVariant> variants;  // "main", "thumb"
  // A video's: the upload of the image its thumb comes from, released with
  // it; 0 for none.
  int64_t thumb_upload = 0;
};

inline constexpr size_t kMaxAttachmentsPerMessage = 10;
inline constexpr size_t kMaxCaptionBytes = 1024;

boost::json::object ToStoredJson(const Attachment& a);
Result<Attachment> AttachmentFromJson(const boost::json::value& v);
// The upload's `info`.
std::string InfoText(const Attachment& a);
Result<Attachment> ParseInfo(std::string_view info);
// A message's `attachments` column.
std::string AttachmentsText(const std::vector<Attachment>& list);
Result<std::vector<Attachment>> ParseAttachments(std::string_view text);
// What clients see: no hashes; `variants` names what can be downloaded.
boost::json::object PublicJson(const Attachment& a);
// The column turned into the public array; empty when there is none (or it
// cannot be read, which a store written by natterd never holds).
boost::json::array PublicAttachments(std::string_view text);

}  // namespace natter::media
