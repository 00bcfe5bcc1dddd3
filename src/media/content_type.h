// What a file is, read from its first bytes (magic numbers), never from the
// name or the type a client declares; and whether the declared type agrees.
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "natter/status.h"

namespace natter::media {

// How natterd treats an attachment: images get derivatives, audio and video a
// duration, files are kept as sent.
enum class MediaKind { kImage, kAudio, kVideo, kFile };
std::string_view MediaKindName(MediaKind kind);
std::optional<MediaKind> ParseMediaKind(std::string_view name);

struct Sniffed {
  std::string mime;  // "image/jpeg"; "application/octet-stream" when nothing is recognised
  MediaKind kind = MediaKind::kFile;
};

// Bytes SniffContent wants to see (it decides on fewer when the file is shorter).
inline constexpr size_t kSniffBytes = 64;

Sniffed SniffContent(std::string_view head);

// "image/JPEG; charset=x" -> "image/jpeg", and the usual aliases ("image/jpg",
// "audio/x-m4a", "audio/opus") to the name SniffContent gives.
std::string NormalizeMime(std::string_view declared);

// The declared type normalized, or "application/octet-stream" when it is not
// "type/subtype" of RFC 6838 characters (it may end up in a header).
std::string CheckedMime(std::string_view declared);

// Images, audio and video whose bytes natterd recognises (and so may be
// shown inline).
bool IsRecognisedMedia(std::string_view mime);

// The name a client gave its file, without the folders of its device; a
// BadRequest unless UTF-8 of at most 255 bytes without control characters.
Result<std::string> CheckedFilename(std::string_view name);

// OK when `declared` agrees with the bytes: a type natterd knows the magic of
// must be what the bytes are; another type must not be bytes natterd
// recognises as something else; "application/octet-stream" takes anything.
// An image, audio or video type natterd has no magic for is refused.
// BadRequest naming both types otherwise.
Status CheckDeclaredType(std::string_view declared, const Sniffed& sniffed);

}  // namespace natter::media
