// What natterd makes of an uploaded image (libvips): a display-size re-encode
// that replaces the original, a thumbnail, and a BlurHash placeholder. Every
// derivative is written without metadata (EXIF, XMP, IPTC: locations and
// device names go) and turned upright by its EXIF orientation first.
// Decompression bombs are refused from the header, before any pixel is
// decoded.
// Thread-safety: any thread; libvips is initialised once, on first use. Runs
// on media worker threads only (it reads the file and decodes).
#pragma once

#include <cstdint>
#include <string>

#include "natter/status.h"

namespace natter::media {

struct ImageLimits {
  int64_t max_pixels = 100'000'000;  // width x height, read from the header
  int display_edge = 1600;           // the longer edge of the display version
  int thumb_edge = 320;
  int jpeg_quality = 82;
};

struct EncodedImage {
  std::string bytes;
  std::string mime;  // image/jpeg, or image/png when the image has transparency
  int width = 0;
  int height = 0;
};

struct ImageDerivatives {
  EncodedImage display;
  EncodedImage thumb;
  std::string blurhash;
};

// Starts libvips (once; every call below does it too).
void InitImageCodecs();

// The header only: width and height as stored (before orientation).
struct ImageHeader {
  int width = 0;
  int height = 0;
  int frames = 1;
};
// TooLarge past `max_pixels`, BadRequest when libvips cannot read the header.
Result<ImageHeader> ReadImageHeader(const std::string& path, const ImageLimits& limits);

// Checks the header (as ReadImageHeader), then decodes and encodes. A GIF's
// display version is its first frame, like its thumbnail.
Result<ImageDerivatives> MakeImageDerivatives(const std::string& path, const ImageLimits& limits);

}  // namespace natter::media
