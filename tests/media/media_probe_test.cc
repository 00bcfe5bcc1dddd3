// Durations and video sizes read from container headers, on files built here
// box by box and page by page as encoders write them.
#include "media/media_probe.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace natter::media {
namespace {

std::string Be(uint64_t v, int n) {
  std::string out(n, '\0');
  for (int i = n - 1; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v & 0xff);
  return out;
}

std::string Le(uint64_t v, int n) {
  std::string out(n, '\0');
  for (int i = 0; i < n; ++i, v >>= 8) out[i] = static_cast<char>(v & 0xff);
  return out;
}

std::string Box(const std::string& type, const std::string& payload) {
  return Be(payload.size() + 8, 4) + type + payload;
}

class MediaProbeTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& bytes) {
    path_ = (std::filesystem::temp_directory_path() / ("natter-probe-" + std::to_string(::getpid()))).string();
    std::ofstream(path_, std::ios::binary) << bytes;
    return path_;
  }
  void TearDown() override { std::filesystem::remove(path_); }
  std::string path_;
};

std::string Mp4(bool moov_last) {
  std::string mvhd =
      std::string(4, '\0') + Be(0, 4) + Be(0, 4) + Be(600, 4) + Be(600 * 12345 / 1000, 4) + std::string(80, '\0');
  std::string tkhd = std::string(4, '\0') + std::string(20, '\0') + std::string(8, '\0') + std::string(8, '\0') +
                     std::string(36, '\0') + Be(640u << 16, 4) + Be(360u << 16, 4);
  std::string audio_tkhd = std::string(4, '\0') + std::string(72, '\0') + Be(0, 4) + Be(0, 4);
  std::string moov =
      Box("moov", Box("mvhd", mvhd) + Box("trak", Box("tkhd", audio_tkhd)) + Box("trak", Box("tkhd", tkhd)));
  std::string ftyp = Box("ftyp", "isom" + Be(512, 4) + "isomiso2mp41");
  std::string mdat = Box("mdat", std::string(5000, 'x'));
  return moov_last ? ftyp + mdat + moov : ftyp + moov + mdat;
}

TEST_F(MediaProbeTest, Mp4DurationAndTheFirstVisualTracksSize) {
  for (bool moov_last : {false, true}) {
    MediaProbe p = ProbeMedia(Write(Mp4(moov_last)), "video/mp4");
    EXPECT_EQ(p.duration_ms, 12345) << moov_last;
    EXPECT_EQ(p.width, 640);
    EXPECT_EQ(p.height, 360);
  }
}

std::string OggPage(uint64_t granule, const std::string& packet) {
  return "OggS" + std::string(1, '\0') + std::string(1, '\0') + Le(granule, 8) + Le(1, 4) + Le(0, 4) + Le(0, 4) +
         std::string(1, '\1') + std::string(1, static_cast<char>(packet.size())) + packet;
}

TEST_F(MediaProbeTest, OggOpusDurationLessThePreSkip) {
  std::string head = "OpusHead" + std::string(1, '\1') + std::string(1, '\1') + Le(312, 2) + Le(48000, 4) + Le(0, 2) +
                     std::string(1, '\0');
  std::string file = OggPage(0, head) + OggPage(0, "OpusTags") + OggPage(48000, std::string(100, 'a')) +
                     OggPage(3 * 48000 + 312, std::string(100, 'b'));
  EXPECT_EQ(ProbeMedia(Write(file), "audio/ogg").duration_ms, 3000);
}

TEST_F(MediaProbeTest, WavDataOverByteRate) {
  std::string fmt = Le(1, 2) + Le(1, 2) + Le(8000, 4) + Le(16000, 4) + Le(2, 2) + Le(16, 2);
  std::string file =
      "RIFF" + Le(36 + 32000, 4) + "WAVE" + "fmt " + Le(16, 4) + fmt + "data" + Le(32000, 4) + std::string(32000, '\0');
  EXPECT_EQ(ProbeMedia(Write(file), "audio/wav").duration_ms, 2000);
}

TEST_F(MediaProbeTest, WhatItCannotReadIsUnknownNotAnError) {
  EXPECT_EQ(ProbeMedia(Write("\0\0\0\x08"
                             "ftyp"),
                       "video/mp4")
                .duration_ms,
            0);
  std::string truncated = Mp4(false).substr(0, 60);
  EXPECT_EQ(ProbeMedia(Write(truncated), "video/mp4").duration_ms, 0);
  EXPECT_EQ(ProbeMedia(Write("OggS garbage"), "audio/ogg").duration_ms, 0);
  EXPECT_EQ(ProbeMedia(Write(std::string(1 << 10, '\xff')), "audio/mpeg").duration_ms, 0);
  // A box that claims more than the file holds stops the walk.
  EXPECT_EQ(ProbeMedia(Write(Be(1, 4) + "moov" + Be(uint64_t{1} << 40, 8)), "video/mp4").duration_ms, 0);
}

}  // namespace
}  // namespace natter::media
