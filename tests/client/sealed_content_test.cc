#include "sealed_content.h"

#include <gtest/gtest.h>

namespace natter::client {
namespace {

TEST(SealedContentTest, OpensWhereItWasSealed) {
  SealedPlace reply{5, "message", std::nullopt, 3};
  auto text = OpenContent(SealContent({"see you at 8 \xF0\x9F\x91\x8B", {}}, reply), reply);
  ASSERT_TRUE(text.ok()) << text.error().message;
  EXPECT_EQ(text->text, "see you at 8 \xF0\x9F\x91\x8B");
  SealedPlace edit{5, "edit", 7, std::nullopt};
  EXPECT_EQ(OpenContent(SealContent({"", {}}, edit), edit).value().text, "");
}

TEST(SealedContentTest, ARelocatedCiphertextIsRefused) {
  std::string sealed = SealContent({"pay 10 to bob", {}}, {5, "message", std::nullopt, std::nullopt});
  // Moved by the server: another conversation, passed off as an edit, as a
  // reaction to a message, or as an answer to one.
  for (const SealedPlace& elsewhere :
       {SealedPlace{6, "message", std::nullopt, std::nullopt}, SealedPlace{5, "edit", 2, std::nullopt},
        SealedPlace{5, "message", 2, std::nullopt}, SealedPlace{5, "message", std::nullopt, 4}}) {
    auto opened = OpenContent(sealed, elsewhere);
    ASSERT_FALSE(opened.ok()) << elsewhere.conversation_id << " " << elsewhere.kind;
    EXPECT_EQ(opened.error().code, ErrorCode::kBadRequest);
  }
  std::string edit = SealContent({"pay 20 to bob", {}}, {5, "edit", 2, std::nullopt});
  EXPECT_FALSE(OpenContent(edit, {5, "edit", 3, std::nullopt}).ok());  // an edit of another message
}

TEST(SealedContentTest, WhatIsNotSealedContentIsRefused) {
  SealedPlace place{5, "message", std::nullopt, std::nullopt};
  for (const char* plain : {"", "hello", "[]", R"({"text": 5, "conversation_id": 5, "kind": "message"})",
                            R"({"sender_key": "abc"})", R"({"conversation_id": 5, "kind": "message"})"}) {
    EXPECT_FALSE(OpenContent(plain, place).ok()) << plain;
  }
}

TEST(SealedContentTest, FilesTravelWithTheirKeys) {
  SealedPlace place{5, "message", std::nullopt, std::nullopt};
  boost::json::array files{{{"media_id", 9}, {"key", "a2V5"}, {"digest", "ZGln"}, {"mime", "image/png"}}};
  auto body = OpenContent(SealContent({"", files}, place), place);
  ASSERT_TRUE(body.ok()) << body.error().message;
  EXPECT_EQ(body->attachments, files);
  // One without its key cannot be opened: refused whole.
  boost::json::array keyless{{{"media_id", 9}, {"digest", "ZGln"}}};
  EXPECT_FALSE(OpenContent(SealContent({"", keyless}, place), place).ok());
}

TEST(SealedContentTest, APlaceIsReadFromTheEntry) {
  Entry e{5, 9, 7, "reaction", "", {{"target_seq", 2}, {"text", "x"}}};
  SealedPlace p = PlaceOf(e);
  EXPECT_EQ((std::tuple{p.conversation_id, p.kind, p.target_seq, p.reply_to}),
            (std::tuple{int64_t{5}, std::string("reaction"), std::optional<int64_t>(2), std::optional<int64_t>()}));
}

}  // namespace
}  // namespace natter::client
