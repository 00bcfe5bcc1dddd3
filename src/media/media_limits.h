// The limits on media, all from configuration (docs/media.md has the table):
// sizes per kind, uploads per user per hour, bytes a user may hold, how long
// an upload waits to be attached, how long a download URL lasts, and the
// image limits.
#pragma once

#include <cstdint>
#include <string_view>

#include "media/content_type.h"
#include "media/image_derivatives.h"

namespace natter::media {

struct MediaLimits {
  int64_t max_image_bytes = 32LL << 20;
  int64_t max_audio_bytes = 64LL << 20;
  int64_t max_video_bytes = 512LL << 20;
  int64_t max_file_bytes = 256LL << 20;
  int uploads_per_hour = 200;
  int64_t quota_bytes = 4LL << 30;  // per user: every upload not expired
  int64_t upload_expiry_ms = 24LL * 3600 * 1000;
  int64_t url_ttl_s = 300;
  // How long a deleted message's attachments stay (downloads under way end).
  int64_t delete_grace_ms = 3600 * 1000;
  ImageLimits image;
};

// The kind a type declares (image/*, audio/*, video/* or any other: file).
MediaKind KindOfMime(std::string_view mime);
int64_t MaxBytesFor(const MediaLimits& limits, MediaKind kind);

}  // namespace natter::media
