#include "media/content_type.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "common/utf8.h"

namespace natter::media {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

bool At(std::string_view s, size_t offset, std::string_view what) {
  return s.size() >= offset + what.size() && s.substr(offset, what.size()) == what;
}

// ISO base media files (MP4, M4A, QuickTime, HEIF): the major brand of the
// leading ftyp box.
std::optional<Sniffed> SniffIsoBmff(std::string_view head) {
  if (!At(head, 4, "ftyp") || head.size() < 12) return std::nullopt;
  std::string_view brand = head.substr(8, 4);
  for (std::string_view b : {"heic", "heix", "heim", "heis", "hevc", "hevx", "hevm", "hevs"}) {
    if (brand == b) return Sniffed{"image/heic", MediaKind::kImage};
  }
  if (brand == "mif1" || brand == "msf1") return Sniffed{"image/heif", MediaKind::kImage};
  if (brand == "M4A " || brand == "M4B ") return Sniffed{"audio/mp4", MediaKind::kAudio};
  if (brand == "qt  ") return Sniffed{"video/quicktime", MediaKind::kVideo};
  if (StartsWith(brand, "3gp")) return Sniffed{"video/3gpp", MediaKind::kVideo};
  if (brand == "avif" || brand == "avis") return std::nullopt;  // AVIF: not an image natterd decodes
  // Every other brand (isom, mp41, mp42, avc1, M4V, dash and the cameras'
  // own, MSNV, XAVC...) is an MP4 movie.
  return Sniffed{"video/mp4", MediaKind::kVideo};
}

struct Alias {
  std::string_view from;
  std::string_view to;
};
constexpr std::array kAliases{
    Alias{"image/jpg", "image/jpeg"},
    Alias{"image/pjpeg", "image/jpeg"},
    Alias{"image/x-png", "image/png"},
    Alias{"image/heic-sequence", "image/heic"},
    Alias{"image/heif-sequence", "image/heif"},
    Alias{"audio/x-m4a", "audio/mp4"},
    Alias{"audio/m4a", "audio/mp4"},
    Alias{"audio/aacp", "audio/aac"},
    Alias{"audio/x-aac", "audio/aac"},
    Alias{"audio/opus", "audio/ogg"},
    Alias{"audio/mp3", "audio/mpeg"},
    Alias{"audio/x-wav", "audio/wav"},
    Alias{"audio/wave", "audio/wav"},
    Alias{"application/x-pdf", "application/pdf"},
    Alias{"application/x-zip-compressed", "application/zip"},
    Alias{"audio/webm", "video/webm"},
    Alias{"video/x-matroska", "video/webm"},
    Alias{"audio/x-matroska", "video/webm"},
    Alias{"audio/3gpp", "video/3gpp"},
    Alias{"video/ogg", "audio/ogg"},
    Alias{"audio/vorbis", "audio/ogg"},
};

// RFC 6838 restricted-name characters, for each side of "type/subtype".
bool IsMimeToken(std::string_view s) {
  if (s.empty() || s.size() > 127) return false;
  for (unsigned char c : s) {
    if (!(std::isalnum(c) || c == '!' || c == '#' || c == '$' || c == '&' || c == '^' || c == '_' || c == '.' ||
          c == '+' || c == '-')) {
      return false;
    }
  }
  return true;
}

// Types SniffContent can name: a declared one must be what the bytes are.
bool HasMagic(std::string_view mime) {
  static constexpr std::array kKnown{"image/jpeg",      "image/png", "image/gif",       "image/webp", "image/heic",
                                     "image/heif",      "audio/mp4", "audio/ogg",       "audio/aac",  "audio/mpeg",
                                     "audio/wav",       "video/mp4", "video/quicktime", "video/3gpp", "video/webm",
                                     "application/pdf", "audio/amr"};
  return std::find(kKnown.begin(), kKnown.end(), mime) != kKnown.end();
}

}  // namespace

std::string_view MediaKindName(MediaKind kind) {
  switch (kind) {
    case MediaKind::kImage:
      return "image";
    case MediaKind::kAudio:
      return "audio";
    case MediaKind::kVideo:
      return "video";
    case MediaKind::kFile:
      break;
  }
  return "file";
}

std::optional<MediaKind> ParseMediaKind(std::string_view name) {
  for (MediaKind k : {MediaKind::kImage, MediaKind::kAudio, MediaKind::kVideo, MediaKind::kFile}) {
    if (MediaKindName(k) == name) return k;
  }
  return std::nullopt;
}

Sniffed SniffContent(std::string_view head) {
  if (StartsWith(head, "\xFF\xD8\xFF")) return {"image/jpeg", MediaKind::kImage};
  if (StartsWith(head, "\x89PNG\r\n\x1A\n")) return {"image/png", MediaKind::kImage};
  if (StartsWith(head, "GIF87a") || StartsWith(head, "GIF89a")) return {"image/gif", MediaKind::kImage};
  if (StartsWith(head, "RIFF") && At(head, 8, "WEBP")) return {"image/webp", MediaKind::kImage};
  if (StartsWith(head, "RIFF") && At(head, 8, "WAVE")) return {"audio/wav", MediaKind::kAudio};
  if (auto iso = SniffIsoBmff(head)) return *iso;
  if (StartsWith(head, "OggS")) return {"audio/ogg", MediaKind::kAudio};
  if (StartsWith(head, "ID3")) return {"audio/mpeg", MediaKind::kAudio};
  if (head.size() >= 3 && static_cast<unsigned char>(head[0]) == 0xFF) {
    unsigned char b = static_cast<unsigned char>(head[1]);
    unsigned char c = static_cast<unsigned char>(head[2]);
    if ((b & 0xF6) == 0xF0) return {"audio/aac", MediaKind::kAudio};  // ADTS: sync, layer 0
    // An MPEG audio frame: sync, a version and a layer that exist, a bitrate
    // that is not "bad" (so a UTF-16 byte order mark, FF FE, is none).
    bool version_ok = (b & 0x18) != 0x08, layer_ok = (b & 0x06) != 0, bitrate_ok = (c & 0xF0) != 0xF0;
    if ((b & 0xE0) == 0xE0 && version_ok && layer_ok && bitrate_ok && b != 0xFE && b != 0xFF) {
      return {"audio/mpeg", MediaKind::kAudio};
    }
  }
  if (StartsWith(head, "#!AMR")) return {"audio/amr", MediaKind::kAudio};
  if (StartsWith(head, "\x1A\x45\xDF\xA3")) return {"video/webm", MediaKind::kVideo};
  if (StartsWith(head, "%PDF-")) return {"application/pdf", MediaKind::kFile};
  if (StartsWith(head, "PK\x03\x04")) return {"application/zip", MediaKind::kFile};
  return {"application/octet-stream", MediaKind::kFile};
}

std::string NormalizeMime(std::string_view declared) {
  declared = declared.substr(0, declared.find(';'));
  while (!declared.empty() && declared.back() == ' ') declared.remove_suffix(1);
  while (!declared.empty() && declared.front() == ' ') declared.remove_prefix(1);
  std::string mime(declared);
  std::transform(mime.begin(), mime.end(), mime.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const Alias& a : kAliases) {
    if (mime == a.from) return std::string(a.to);
  }
  return mime;
}

std::string CheckedMime(std::string_view declared) {
  std::string mime = NormalizeMime(declared);
  size_t slash = mime.find('/');
  if (slash == std::string::npos || !IsMimeToken(mime.substr(0, slash)) || !IsMimeToken(mime.substr(slash + 1))) {
    return "application/octet-stream";
  }
  return mime;
}

bool IsRecognisedMedia(std::string_view mime) {
  return HasMagic(mime) && (mime.starts_with("image/") || mime.starts_with("audio/") || mime.starts_with("video/"));
}

Status CheckDeclaredType(std::string_view declared, const Sniffed& sniffed) {
  std::string mime = CheckedMime(declared);
  if (mime == "application/octet-stream") return OkStatus();
  bool media = mime.starts_with("image/") || mime.starts_with("audio/") || mime.starts_with("video/");
  if (media && !HasMagic(mime)) {
    // Stored as sent and shown inline, an image natterd cannot read would
    // keep its metadata: such files go as application/octet-stream.
    return BadRequest(mime + " is not a type natterd can check; send it as application/octet-stream");
  }
  bool agrees = false;
  if (HasMagic(mime)) {
    agrees = mime == sniffed.mime || (mime == "image/heif" && sniffed.mime == "image/heic") ||
             (mime == "image/heic" && sniffed.mime == "image/heif") ||
             (mime == "video/mp4" && sniffed.mime == "audio/mp4") ||
             (mime == "audio/mp4" && sniffed.mime == "video/mp4");
  } else {
    // Any file but one whose bytes are media (a photo is not a spreadsheet);
    // such files are only ever served as downloads.
    agrees = sniffed.kind == MediaKind::kFile;
  }
  if (agrees) return OkStatus();
  return BadRequest("the file's bytes are " + sniffed.mime + ", not the declared " + mime);
}

Result<std::string> CheckedFilename(std::string_view name) {
  size_t slash = name.find_last_of("/\\");
  if (slash != std::string_view::npos) name.remove_prefix(slash + 1);
  bool control =
      std::any_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
  if (name.size() > 255 || !IsValidUtf8(name) || control) {
    return BadRequest("filename must be UTF-8 of at most 255 bytes, without control characters");
  }
  return std::string(name);
}

}  // namespace natter::media
