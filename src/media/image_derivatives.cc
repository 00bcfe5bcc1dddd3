#include "media/image_derivatives.h"

#include <vips/vips.h>

#include <memory>
#include <mutex>

#include "media/blurhash.h"

namespace natter::media {
namespace {}  // namespace

void InitImageCodecs() {
  static std::once_flag once;
  std::call_once(once, [] {
    vips_init("natterd");
    // Loaders that are not fuzzed upstream (ImageMagick, MATLAB...) are off.
    vips_block_untrusted_set(TRUE);
    // Parallelism comes from the media pool, one image per thread.
    vips_concurrency_set(1);
    // No cache of operations: every image is new, and a cache holds memory.
    vips_cache_set_max(0);
  });
}

namespace {

struct Unref {
  void operator()(void* p) const {
    if (p) g_object_unref(p);
  }
};
using ImagePtr = std::unique_ptr<VipsImage, Unref>;

std::string VipsError(std::string_view what) {
  // Taken and cleared under libvips' own lock: the buffer is shared by every
  // media thread.
  char* text = vips_error_buffer_copy();
  std::string message = std::string(what) + ": " + (text ? text : "");
  g_free(text);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

// A placeholder that cannot be made is left out; its error goes too.
void DropVipsError() { g_free(vips_error_buffer_copy()); }

Result<EncodedImage> Encode(VipsImage* image, int quality) {
  void* buf = nullptr;
  size_t len = 0;
  bool alpha = vips_image_hasalpha(image);
  int rc = alpha ? vips_pngsave_buffer(image, &buf, &len, "strip", TRUE, "compression", 6, nullptr)
                 : vips_jpegsave_buffer(image, &buf, &len, "Q", quality, "strip", TRUE, "optimize_coding", TRUE,
                                        "interlace", TRUE, nullptr);
  if (rc != 0) return Internal(VipsError("encoding the image failed"));
  EncodedImage out;
  out.bytes.assign(static_cast<const char*>(buf), len);
  g_free(buf);
  out.mime = alpha ? "image/png" : "image/jpeg";
  out.width = vips_image_get_width(image);
  out.height = vips_image_get_height(image);
  return out;
}

// At most `edge` on the longer side, never enlarged, upright.
Result<ImagePtr> Shrink(VipsImage* in, int edge) {
  VipsImage* out = nullptr;
  if (vips_thumbnail_image(in, &out, edge, "height", edge, "size", VIPS_SIZE_DOWN, nullptr) != 0) {
    return BadRequest(VipsError("the image could not be decoded"));
  }
  return ImagePtr(out);
}

std::string BlurHashOf(VipsImage* thumb) {
  ImagePtr small;
  VipsImage* tmp = nullptr;
  if (vips_thumbnail_image(thumb, &tmp, 32, "height", 32, nullptr) != 0) return DropVipsError(), "";
  small.reset(tmp);
  // Three 8-bit sRGB bands, whatever the source was (grey, alpha, 16-bit).
  if (vips_colourspace(small.get(), &tmp, VIPS_INTERPRETATION_sRGB, nullptr) != 0) return DropVipsError(), "";
  small.reset(tmp);
  if (vips_image_hasalpha(small.get())) {
    if (vips_flatten(small.get(), &tmp, nullptr) != 0) return DropVipsError(), "";
    small.reset(tmp);
  }
  if (vips_cast_uchar(small.get(), &tmp, nullptr) != 0) return DropVipsError(), "";
  small.reset(tmp);
  if (vips_image_get_bands(small.get()) != 3) return "";
  size_t len = 0;
  void* pixels = vips_image_write_to_memory(small.get(), &len);
  if (!pixels) return DropVipsError(), "";
  std::string hash = EncodeBlurHash(std::string_view(static_cast<const char*>(pixels), len),
                                    vips_image_get_width(small.get()), vips_image_get_height(small.get()));
  g_free(pixels);
  return hash;
}

}  // namespace

Result<ImageHeader> ReadImageHeader(const std::string& path, const ImageLimits& limits) {
  InitImageCodecs();
  // Opening reads the header alone; pixels are decoded only when asked for.
  ImagePtr image(vips_image_new_from_file(path.c_str(), "access", VIPS_ACCESS_SEQUENTIAL, nullptr));
  if (!image) return BadRequest(VipsError("not a readable image"));
  ImageHeader header;
  header.width = vips_image_get_width(image.get());
  header.height = vips_image_get_height(image.get());
  header.frames = std::max(1, vips_image_get_n_pages(image.get()));
  if (header.width <= 0 || header.height <= 0 ||
      static_cast<int64_t>(header.width) * header.height > limits.max_pixels) {
    return TooLarge("the image is " + std::to_string(header.width) + " x " + std::to_string(header.height) +
                    " pixels; at most " + std::to_string(limits.max_pixels) + " are accepted");
  }
  return header;
}

Result<ImageDerivatives> MakeImageDerivatives(const std::string& path, const ImageLimits& limits) {
  NATTER_RETURN_IF_ERROR(ReadImageHeader(path, limits));
  // Shrinks while loading where the format allows (JPEG, WebP, HEIC), turns
  // the image upright and converts it to sRGB; a truncated file fails.
  VipsImage* loaded = nullptr;
  if (vips_thumbnail(path.c_str(), &loaded, limits.display_edge, "height", limits.display_edge, "size", VIPS_SIZE_DOWN,
                     "fail_on", VIPS_FAIL_ON_ERROR, nullptr) != 0) {
    return BadRequest(VipsError("the image could not be decoded"));
  }
  ImagePtr display(loaded);
  // Decoded once into memory; the thumbnail and the placeholder read it there.
  VipsImage* in_memory = vips_image_copy_memory(display.get());
  if (!in_memory) return BadRequest(VipsError("the image could not be decoded"));
  display.reset(in_memory);

  ImageDerivatives out;
  NATTER_TRY(out.display, Encode(display.get(), limits.jpeg_quality));
  NATTER_TRY(auto thumb, Shrink(display.get(), limits.thumb_edge));
  NATTER_TRY(out.thumb, Encode(thumb.get(), limits.jpeg_quality));
  out.blurhash = BlurHashOf(thumb.get());
  return out;
}

}  // namespace natter::media
