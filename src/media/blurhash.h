// BlurHash (blurha.sh): a 20-30 character placeholder a client paints while
// the thumbnail loads. Encoded from a small RGB image: the average colour and
// a few cosine components, base-83 text. Decoders exist for every platform.
// Thread-safety: pure function.
#pragma once

#include <string>
#include <string_view>

namespace natter::media {

// `rgb` is width x height pixels, 3 bytes each, rows top to bottom; components
// in 1..9 each way. Empty for an empty image.
std::string EncodeBlurHash(std::string_view rgb, int width, int height, int x_components = 4, int y_components = 3);

}  // namespace natter::media
