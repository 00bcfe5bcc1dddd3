#include "media/media_limits.h"

namespace natter::media {

MediaKind KindOfMime(std::string_view mime) {
  if (mime.starts_with("image/")) return MediaKind::kImage;
  if (mime.starts_with("audio/")) return MediaKind::kAudio;
  if (mime.starts_with("video/")) return MediaKind::kVideo;
  return MediaKind::kFile;
}

int64_t MaxBytesFor(const MediaLimits& limits, MediaKind kind) {
  switch (kind) {
    case MediaKind::kImage:
      return limits.max_image_bytes;
    case MediaKind::kAudio:
      return limits.max_audio_bytes;
    case MediaKind::kVideo:
      return limits.max_video_bytes;
    case MediaKind::kFile:
      break;
  }
  return limits.max_file_bytes;
}

}  // namespace natter::media
