#include "media/content_type.h"

#include <gtest/gtest.h>

namespace natter::media {
namespace {

using namespace std::string_literals;

TEST(ContentType, RecognisesMagicNumbers) {
  EXPECT_EQ(SniffContent("\xFF\xD8\xFF\xE0rest").mime, "image/jpeg");
  EXPECT_EQ(SniffContent("\x89PNG\r\n\x1A\n....").mime, "image/png");
  EXPECT_EQ(SniffContent("RIFF\x10\0\0\0WEBPVP8 "s).mime, "image/webp");
  EXPECT_EQ(SniffContent("\0\0\0\x18"
                         "ftypheic\0\0\0\0"s)
                .mime,
            "image/heic");
  EXPECT_EQ(SniffContent("\0\0\0\x18"
                         "ftypM4A \0\0\0\0"s)
                .kind,
            MediaKind::kAudio);
  EXPECT_EQ(SniffContent("\0\0\0\x18"
                         "ftypisom\0\0\0\0"s)
                .mime,
            "video/mp4");
  EXPECT_EQ(SniffContent("OggS\0\x02"s).mime, "audio/ogg");
  EXPECT_EQ(SniffContent("\xFF\xF1\x50\x80").mime, "audio/aac");
  EXPECT_EQ(SniffContent("%PDF-1.7").mime, "application/pdf");
  EXPECT_EQ(SniffContent("hello, world").mime, "application/octet-stream");
  EXPECT_EQ(SniffContent("").kind, MediaKind::kFile);
  // Too short to be what it starts like.
  EXPECT_EQ(SniffContent("RIFF").mime, "application/octet-stream");
  EXPECT_EQ(SniffContent("\xFF\xFBP\xC4").mime, "audio/mpeg");
  EXPECT_EQ(SniffContent("#!AMR\n").mime, "audio/amr");
  EXPECT_EQ(SniffContent("\0\0\0\x18"
                         "ftypMSNV\0\0\0\0"s)
                .mime,
            "video/mp4");  // a camera's own brand
  // A UTF-16 text's byte order mark is not an MP3 frame.
  EXPECT_EQ(SniffContent("\xFF\xFEh\0i\0").mime, "application/octet-stream");
}

TEST(ContentType, ADeclaredTypeThatCouldBeAHeaderIsNone) {
  EXPECT_EQ(CheckedMime("image/JPEG"), "image/jpeg");
  EXPECT_EQ(CheckedMime("application/vnd.ms-excel"), "application/vnd.ms-excel");
  EXPECT_EQ(CheckedMime("video/x\r\ncontent-type: text/html"), "application/octet-stream");
  EXPECT_EQ(CheckedMime("no-slash"), "application/octet-stream");
  EXPECT_EQ(CheckedMime(""), "application/octet-stream");
  EXPECT_TRUE(IsRecognisedMedia("image/png"));
  EXPECT_FALSE(IsRecognisedMedia("image/svg+xml"));
  EXPECT_FALSE(IsRecognisedMedia("application/pdf"));
}

TEST(ContentType, NormalisesDeclaredTypes) {
  EXPECT_EQ(NormalizeMime(" Image/JPG; q=1"), "image/jpeg");
  EXPECT_EQ(NormalizeMime("audio/x-m4a"), "audio/mp4");
  EXPECT_EQ(NormalizeMime("text/plain"), "text/plain");
}

TEST(ContentType, DeclaredTypeMustAgreeWithTheBytes) {
  Sniffed jpeg = SniffContent("\xFF\xD8\xFF\xE0");
  Sniffed unknown = SniffContent("just text");
  Sniffed zip = SniffContent("PK\x03\x04");
  EXPECT_TRUE(CheckDeclaredType("image/jpeg", jpeg).ok());
  EXPECT_TRUE(CheckDeclaredType("image/jpg", jpeg).ok());
  EXPECT_TRUE(CheckDeclaredType("application/octet-stream", jpeg).ok());
  EXPECT_TRUE(CheckDeclaredType("text/plain", unknown).ok());
  EXPECT_TRUE(CheckDeclaredType("application/vnd.openxmlformats-officedocument.wordprocessingml.document", zip).ok());

  Status st = CheckDeclaredType("image/png", jpeg);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kBadRequest);
  EXPECT_NE(st.error().message.find("image/jpeg"), std::string::npos);
  EXPECT_FALSE(CheckDeclaredType("text/plain", jpeg).ok());  // a photo is not text
  EXPECT_FALSE(CheckDeclaredType("image/jpeg", unknown).ok());
  EXPECT_FALSE(CheckDeclaredType("application/pdf", zip).ok());
  // Media natterd cannot check is not taken as media.
  EXPECT_FALSE(CheckDeclaredType("image/tiff", unknown).ok());
  EXPECT_TRUE(CheckDeclaredType("audio/webm", SniffContent("\x1A\x45\xDF\xA3")).ok());
}

}  // namespace
}  // namespace natter::media
