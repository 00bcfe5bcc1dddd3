// libvips on real images made here: orientation honoured, metadata gone from
// every derivative, bombs refused from the header, garbage refused cleanly.
#include "media/image_derivatives.h"

#include <gtest/gtest.h>
#include <vips/vips.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "media/blurhash.h"

namespace natter::media {
namespace {

namespace fs = std::filesystem;

std::string Be16(int v) { return {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)}; }
std::string Be32(uint32_t v) { return Be16(static_cast<int>(v >> 16)) + Be16(static_cast<int>(v & 0xffff)); }

// An EXIF APP1 segment: orientation 6 (turn 90 degrees clockwise to view) and
// a GPS IFD holding a latitude, as a phone's camera writes them.
std::string ExifSegment() {
  std::string tiff = "MM" + Be16(42) + Be32(8);
  tiff += Be16(2);                                               // IFD0: two entries
  tiff += Be16(0x0112) + Be16(3) + Be32(1) + Be16(6) + Be16(0);  // Orientation
  tiff += Be16(0x8825) + Be16(4) + Be32(1) + Be32(38);           // GPS IFD at 38
  tiff += Be32(0);
  tiff += Be16(2);                                                       // GPS IFD
  tiff += Be16(0x0001) + Be16(2) + Be32(2) + std::string("N\0\0\0", 4);  // GPSLatitudeRef
  tiff += Be16(0x0002) + Be16(5) + Be32(3) + Be32(68);                   // GPSLatitude at 68
  tiff += Be32(0);
  for (uint32_t v : {48u, 51u, 30u}) tiff += Be32(v) + Be32(1);
  std::string body = std::string("Exif\0\0", 6) + tiff;
  return "\xFF\xE1" + Be16(static_cast<int>(body.size() + 2)) + body;
}

class ImageDerivativesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("natter-media-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    InitImageCodecs();
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& bytes) {
    std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  // A 200 x 100 JPEG, left half dark and right half light.
  static std::string Jpeg() {
    VipsImage* black = nullptr;
    VipsImage* ramp = nullptr;
    EXPECT_EQ(vips_xyz(&black, 200, 100, nullptr), 0);
    EXPECT_EQ(vips_extract_band(black, &ramp, 0, nullptr), 0);  // x: 0..199
    VipsImage* rgb = nullptr;
    VipsImage* bands[3] = {ramp, ramp, ramp};
    EXPECT_EQ(vips_bandjoin(bands, &rgb, 3, nullptr), 0);
    VipsImage* cast = nullptr;
    EXPECT_EQ(vips_cast_uchar(rgb, &cast, nullptr), 0);
    void* buf = nullptr;
    size_t len = 0;
    EXPECT_EQ(vips_jpegsave_buffer(cast, &buf, &len, nullptr), 0);
    std::string out(static_cast<const char*>(buf), len);
    g_free(buf);
    for (VipsImage* i : {black, ramp, rgb, cast}) g_object_unref(i);
    return out;
  }

  static bool HasExif(const std::string& bytes) {
    VipsImage* image = vips_image_new_from_buffer(bytes.data(), bytes.size(), "", nullptr);
    if (!image) return true;
    bool has = vips_image_get_typeof(image, VIPS_META_EXIF_NAME) != 0 ||
               vips_image_get_typeof(image, "exif-ifd3-GPSLatitudeRef") != 0;
    g_object_unref(image);
    return has || bytes.find("Exif") != std::string::npos;
  }

  fs::path dir_;
};

TEST_F(ImageDerivativesTest, TurnsUprightAndStripsLocation) {
  std::string jpeg = Jpeg();
  jpeg.insert(2, ExifSegment());
  ASSERT_TRUE(HasExif(jpeg));  // the input really carries it
  std::string path = Write("photo.jpg", jpeg);

  auto header = ReadImageHeader(path, {});
  ASSERT_TRUE(header.ok()) << header.error().message;
  EXPECT_EQ(header->width, 200);
  EXPECT_EQ(header->height, 100);

  ImageLimits limits;
  limits.thumb_edge = 50;
  auto d = MakeImageDerivatives(path, limits);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->display.mime, "image/jpeg");
  EXPECT_EQ(d->display.width, 100);  // orientation 6: portrait once upright
  EXPECT_EQ(d->display.height, 200);
  EXPECT_EQ(d->thumb.width, 25);
  EXPECT_EQ(d->thumb.height, 50);
  EXPECT_FALSE(HasExif(d->display.bytes));
  EXPECT_FALSE(HasExif(d->thumb.bytes));
  EXPECT_GE(d->blurhash.size(), 20u);
}

TEST_F(ImageDerivativesTest, NeverEnlarges) {
  auto d = MakeImageDerivatives(Write("small.jpg", Jpeg()), {});
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->display.width, 200);
  EXPECT_EQ(d->thumb.width, 200);
}

// A PNG that claims 50,000 x 50,000 pixels (7.5 GB decoded): refused from the
// header; decoding its few real bytes would have failed otherwise, differently.
TEST_F(ImageDerivativesTest, RefusesADecompressionBombFromItsHeader) {
  auto chunk = [](const std::string& type, const std::string& data) {
    std::string body = type + data;
    uLong crc = crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()));
    return Be32(static_cast<uint32_t>(data.size())) + body + Be32(static_cast<uint32_t>(crc));
  };
  std::string ihdr = Be32(50000) + Be32(50000) + std::string("\x08\x02\x00\x00\x00", 5);
  std::string zeros(1 << 16, '\0');
  std::string deflated(compressBound(zeros.size()), '\0');
  uLongf len = deflated.size();
  compress(reinterpret_cast<Bytef*>(deflated.data()), &len, reinterpret_cast<const Bytef*>(zeros.data()), zeros.size());
  deflated.resize(len);
  std::string png = "\x89PNG\r\n\x1A\n" + chunk("IHDR", ihdr) + chunk("IDAT", deflated) + chunk("IEND", "");
  std::string path = Write("bomb.png", png);

  auto d = MakeImageDerivatives(path, {});
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, ErrorCode::kTooLarge) << d.error().message;
  EXPECT_NE(d.error().message.find("50000 x 50000"), std::string::npos);
}

TEST_F(ImageDerivativesTest, RefusesBytesThatAreNoImage) {
  auto d = MakeImageDerivatives(Write("junk.jpg", "\xFF\xD8\xFF\xE0 and then nothing an image has"), {});
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, ErrorCode::kBadRequest);
  // Truncated halfway: refused, not half an image.
  std::string jpeg = Jpeg();
  d = MakeImageDerivatives(Write("cut.jpg", jpeg.substr(0, jpeg.size() / 2)), {});
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, ErrorCode::kBadRequest);
}

TEST(BlurHash, EncodesTheAverageColourAndTheShape) {
  auto image = [](bool red_left) {
    std::string rgb;
    for (int y = 0; y < 8; ++y) {
      for (int x = 0; x < 16; ++x) rgb += (x < 8) == red_left ? std::string("\xFF\x00\x00", 3) : std::string(3, '\0');
    }
    return rgb;
  };
  std::string red;
  for (int i = 0; i < 16 * 8; ++i) red += std::string("\xFF\x00\x00", 3);
  std::string hash = EncodeBlurHash(red, 16, 8);
  ASSERT_EQ(hash.size(), 28u);           // 1 + 1 + 4 + 2 x 11 components
  EXPECT_EQ(hash[0], 'L');               // (4 - 1) + (3 - 1) x 9 = 21
  EXPECT_EQ(hash.substr(2, 4), "TI:j");  // the average, 0xFF0000, in base 83
  // Red on the left and red on the right share their average, not their hash.
  std::string left = EncodeBlurHash(image(true), 16, 8);
  std::string right = EncodeBlurHash(image(false), 16, 8);
  EXPECT_EQ(left.substr(2, 4), right.substr(2, 4));
  EXPECT_NE(left, right);
  EXPECT_EQ(EncodeBlurHash("", 0, 0), "");
}

}  // namespace
}  // namespace natter::media
