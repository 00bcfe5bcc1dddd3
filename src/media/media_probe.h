// What natterd reads from audio and video without decoding them: the
// duration (a voice note's length on its bubble) and a video's dimensions.
// MP4/M4A/QuickTime/3GP (the movie header and the first visual track's
// header), Ogg Opus (the last page's granule position less the pre-skip) and
// WAV (the data size over the byte rate). Anything else, or a file these
// cannot read, gives an empty probe: the file is still stored as sent.
// Thread-safety: a media worker thread (it reads the file).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace natter::media {

struct MediaProbe {
  int64_t duration_ms = 0;  // 0: unknown
  int width = 0;            // video only; 0: unknown
  int height = 0;
};

MediaProbe ProbeMedia(const std::string& path, std::string_view mime);

}  // namespace natter::media
