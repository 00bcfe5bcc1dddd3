#include "chat/text_rules.h"

#include <gtest/gtest.h>

#include <string>

namespace natter::chat {
namespace {

ErrorCode CodeOf(std::string_view name) {
  auto st = CheckDisplayName(name);
  return st.ok() ? ErrorCode::kInternal : st.error().code;  // kInternal stands for "accepted" here
}

TEST(DisplayNames, WhatAPersonWritesIsAccepted) {
  for (std::string_view name :
       {"", "Bob", "Zoë Ångström", "王小明", "Ana 🚲", "👩\u200D👩\u200D👧 family", "O'Neil-Smith"}) {
    EXPECT_TRUE(CheckDisplayName(name).ok()) << name;
  }
  EXPECT_TRUE(CheckDisplayName(std::string(64, 'x')).ok());
}

TEST(DisplayNames, WhatBreaksALineReordersTextOrHidesIsRefused) {
  for (std::string_view name :
       {"tab\there", "new\nline", "del\x7f", "c1 \u0085 next", "line\u2028sep", "rtl \u202Eevil", "iso\u2066late",
        "zero\u200Bwidth", "\uFEFFbom", "soft\u00ADhyphen", "tag\U000E0041"}) {
    EXPECT_EQ(CodeOf(name), ErrorCode::kBadRequest) << name;
  }
  EXPECT_EQ(CodeOf("   "), ErrorCode::kBadRequest);  // nothing to show
  EXPECT_EQ(CodeOf("\u3000\u00A0"), ErrorCode::kBadRequest);
  EXPECT_EQ(CodeOf("bad \xff utf8"), ErrorCode::kBadRequest);
  EXPECT_EQ(CodeOf(std::string(65, 'x')), ErrorCode::kTooLarge);
}

}  // namespace
}  // namespace natter::chat
