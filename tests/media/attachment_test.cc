#include "media/attachment.h"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

namespace natter::media {
namespace {

Attachment Video() {
  Attachment a;
  a.id = 7;
  a.kind = MediaKind::kVideo;
  a.mime = "video/mp4";
  a.size = 4096;
  a.width = 640;
  a.height = 360;
  a.duration_ms = 4200;
  a.blurhash = "L24ei_";
  a.filename = "clip.mp4";
  a.caption = "look";
  a.variants["main"] = StoredVariant{std::string(64, 'a'), "video/mp4", 4096, 11};
  a.variants["thumb"] = StoredVariant{std::string(64, 'b'), "image/jpeg", 900, 12};
  a.thumb_upload = 8;
  return a;
}

TEST(Attachments, AMessagesColumnKeepsEverythingItWasGiven) {
  auto list = ParseAttachments(AttachmentsText({Video()}));
  ASSERT_TRUE(list.ok()) << list.error().message;
  ASSERT_EQ(list->size(), 1u);
  const Attachment& a = list->front();
  EXPECT_EQ((std::tuple{a.id, a.kind, a.mime, a.size, a.width, a.height, a.duration_ms, a.thumb_upload}),
            (std::tuple{7, MediaKind::kVideo, std::string("video/mp4"), 4096, 640, 360, 4200, 8}));
  EXPECT_EQ((std::tuple{a.blurhash, a.filename, a.caption}), (std::tuple{"L24ei_", "clip.mp4", "look"}));
  ASSERT_EQ(a.variants.size(), 2u);
  EXPECT_EQ(a.variants.at("thumb").sha256, std::string(64, 'b'));
  EXPECT_EQ(a.variants.at("thumb").generation, 12);
}

TEST(Attachments, ClientsSeeNeitherObjectsNorThePostersUpload) {
  std::string shown = boost::json::serialize(PublicJson(Video()));
  EXPECT_EQ(shown.find(std::string(64, 'a')), std::string::npos) << shown;
  EXPECT_EQ(shown.find("thumb_upload"), std::string::npos) << shown;
  EXPECT_EQ(shown.find("generation"), std::string::npos) << shown;
  EXPECT_NE(shown.find(R"("variants":["main","thumb"])"), std::string::npos) << shown;
}

TEST(Attachments, AnUploadsInfoHasNoCaption) {
  auto a = ParseInfo(InfoText(Video()));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->caption, "");
  EXPECT_EQ(a->id, 7);
}

TEST(Attachments, WhatIsNotAnAttachmentIsRefused) {
  EXPECT_FALSE(ParseAttachments("{}").ok());
  EXPECT_FALSE(ParseAttachments(R"([{"kind":"video"}])").ok());
  EXPECT_FALSE(ParseAttachments(R"([{"id":3,"kind":"hologram"}])").ok());
  EXPECT_TRUE(ParseAttachments("").ok());
  EXPECT_TRUE(PublicAttachments("not json").empty());
}

}  // namespace
}  // namespace natter::media
