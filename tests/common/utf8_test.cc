#include "common/utf8.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace natter {
namespace {

// An independent reference: decode by bit pattern, then apply the rules
// (shortest form, no surrogates, <= U+10FFFF) to the decoded code point.
// Table-driven validation in utf8.cc must agree with it everywhere.
bool ReferenceIsValid(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<uint8_t>(s[i]);
    size_t len;
    uint32_t cp;
    if (b < 0x80) {
      ++i;
      continue;
    } else if ((b & 0xE0) == 0xC0) {
      len = 2;
      cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      len = 3;
      cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      len = 4;
      cp = b & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto c = static_cast<uint8_t>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    static constexpr uint32_t kMinForLength[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

TEST(WsUtf8Test, EmptyAndAsciiAreValid) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("Hello"));
  EXPECT_TRUE(IsValidUtf8(std::string(1000, 'a')));
  EXPECT_TRUE(IsValidUtf8(std::string("\0\x7f", 2)));
}

TEST(WsUtf8Test, Rfc3629ExampleStrings) {
  // RFC 3629 section 7.
  EXPECT_TRUE(IsValidUtf8("\x41\xE2\x89\xA2\xCE\x91\x2E"));          // "A<NOT IDENTICAL TO><ALPHA>."
  EXPECT_TRUE(IsValidUtf8("\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4"));  // "hangugeo"
  EXPECT_TRUE(IsValidUtf8("\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E"));  // "nihongo"
  EXPECT_TRUE(IsValidUtf8("\xEF\xBB\xBF\xF0\xA3\x8E\xB4"));          // BOM + U+233B4
  // Autobahn 6.2: "kosme" in Greek.
  EXPECT_TRUE(IsValidUtf8("\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5"));
}

TEST(WsUtf8Test, BoundaryCodePointsAreValid) {
  for (const std::string& s : {Bytes({0xC2, 0x80}), Bytes({0xDF, 0xBF}), Bytes({0xE0, 0xA0, 0x80}),
                               Bytes({0xED, 0x9F, 0xBF}), Bytes({0xEE, 0x80, 0x80}), Bytes({0xEF, 0xBF, 0xBF}),
                               Bytes({0xF0, 0x90, 0x80, 0x80}), Bytes({0xF4, 0x8F, 0xBF, 0xBF})}) {
    EXPECT_TRUE(IsValidUtf8(s)) << testing::PrintToString(s);
  }
}

TEST(WsUtf8Test, RejectsOverlongForms) {
  for (const std::string& s : {Bytes({0xC0, 0xAF}), Bytes({0xC1, 0xBF}), Bytes({0xC0, 0x80}), Bytes({0xE0, 0x80, 0xAF}),
                               Bytes({0xE0, 0x9F, 0xBF}), Bytes({0xF0, 0x80, 0x80, 0xAF}),
                               Bytes({0xF0, 0x8F, 0xBF, 0xBF}), Bytes({0xF8, 0x80, 0x80, 0x80, 0xAF})}) {
    EXPECT_FALSE(IsValidUtf8(s)) << testing::PrintToString(s);
  }
}

TEST(WsUtf8Test, RejectsSurrogates) {
  for (const std::string& s : {Bytes({0xED, 0xA0, 0x80}), Bytes({0xED, 0xAD, 0xBF}), Bytes({0xED, 0xB0, 0x80}),
                               Bytes({0xED, 0xBF, 0xBF}), Bytes({0xED, 0xA0, 0x80, 0xED, 0xB0, 0x80})}) {
    EXPECT_FALSE(IsValidUtf8(s)) << testing::PrintToString(s);
  }
}

TEST(WsUtf8Test, RejectsCodePointsAboveU10FFFF) {
  EXPECT_FALSE(IsValidUtf8(Bytes({0xF4, 0x90, 0x80, 0x80})));
  EXPECT_FALSE(IsValidUtf8(Bytes({0xF5, 0x80, 0x80, 0x80})));
  EXPECT_FALSE(IsValidUtf8(Bytes({0xF7, 0xBF, 0xBF, 0xBF})));
}

TEST(WsUtf8Test, RejectsStrayAndTruncatedBytes) {
  for (const std::string& s :
       {Bytes({0x80}), Bytes({0xBF}), Bytes({0xFE}), Bytes({0xFF}), Bytes({0xC2}), Bytes({0xE0, 0xA0}),
        Bytes({0xF0, 0x90, 0x80}), Bytes({0xC2, 0x41}), Bytes({0xE1, 0x80, 0x41}), Bytes({0xCE, 0xBA, 0x80})}) {
    EXPECT_FALSE(IsValidUtf8(s)) << testing::PrintToString(s);
  }
}

TEST(WsUtf8Test, InvalidByteFoundAtEveryPositionOfTheWordLoop) {
  // The ASCII fast path reads 8 bytes at a time; a bad byte must be caught
  // wherever it falls relative to those words, and so must a good one.
  for (size_t pos = 0; pos < 40; ++pos) {
    std::string s(40, 'x');
    s[pos] = '\x80';
    EXPECT_FALSE(IsValidUtf8(s)) << pos;
    std::string ok(40, 'x');
    ok.replace(pos, 2, "\xC3\xA9");
    EXPECT_TRUE(IsValidUtf8(ok.substr(0, 41))) << pos;
  }
}

TEST(WsUtf8Test, AgreesWithReferenceOnAllTwoByteStrings) {
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      const std::string s = Bytes({a, b});
      ASSERT_EQ(IsValidUtf8(s), ReferenceIsValid(s)) << a << " " << b;
      ASSERT_EQ(IsValidUtf8(s.substr(0, 1)), ReferenceIsValid(s.substr(0, 1))) << a;
    }
  }
}

TEST(WsUtf8Test, AgreesWithReferenceOnAllThreeByteSequences) {
  for (int a = 0xE0; a <= 0xEF; ++a) {
    for (int b = 0; b < 256; ++b) {
      for (int c = 0; c < 256; ++c) {
        const std::string s = Bytes({a, b, c});
        ASSERT_EQ(IsValidUtf8(s), ReferenceIsValid(s)) << a << " " << b << " " << c;
      }
    }
  }
}

TEST(WsUtf8Test, AgreesWithReferenceOnFourByteLeads) {
  for (int a = 0xF0; a <= 0xFF; ++a) {
    for (int b = 0; b < 256; ++b) {
      for (int c : {0x00, 0x7F, 0x80, 0xBF, 0xC0}) {
        for (int d : {0x41, 0x80, 0xBF, 0xC0}) {
          const std::string s = Bytes({a, b, c, d});
          ASSERT_EQ(IsValidUtf8(s), ReferenceIsValid(s)) << a << " " << b << " " << c << " " << d;
        }
      }
    }
  }
}

TEST(WsUtf8ValidatorTest, AcceptsSequencesSplitAtEveryByte) {
  const std::string text = "a\xCE\xBA\xE1\xBD\xB9\xF0\x9F\x98\x80z";
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    Utf8Validator v;
    EXPECT_TRUE(v.Feed(text.substr(0, cut))) << cut;
    EXPECT_TRUE(v.Feed(text.substr(cut))) << cut;
    EXPECT_TRUE(v.Complete()) << cut;
  }
  Utf8Validator one_by_one;
  for (char c : text) ASSERT_TRUE(one_by_one.Feed(std::string_view(&c, 1)));
  EXPECT_TRUE(one_by_one.Complete());
}

TEST(WsUtf8ValidatorTest, IncompleteSequenceIsNotComplete) {
  Utf8Validator v;
  EXPECT_TRUE(v.Feed("ok\xF0\x9F"));
  EXPECT_FALSE(v.Complete());
  EXPECT_TRUE(v.Feed("\x98"));
  EXPECT_FALSE(v.Complete());
  EXPECT_TRUE(v.Feed("\x80"));
  EXPECT_TRUE(v.Complete());
}

TEST(WsUtf8ValidatorTest, FailsAsSoonAsTheBadByteArrives) {
  // Autobahn 6.4.1-style: the second byte already rules out any valid
  // continuation (U+110000 and above), so Feed fails there.
  Utf8Validator v;
  EXPECT_TRUE(v.Feed("\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5"));
  EXPECT_TRUE(v.Feed("\xF4"));
  EXPECT_FALSE(v.Feed("\x90"));
  EXPECT_FALSE(v.Complete());
  // Sticky: valid bytes afterwards do not revive it.
  EXPECT_FALSE(v.Feed("abc"));
  EXPECT_FALSE(v.Complete());
}

TEST(WsUtf8ValidatorTest, SurrogateFailsOnSecondByte) {
  Utf8Validator v;
  EXPECT_TRUE(v.Feed("\xED"));
  EXPECT_FALSE(v.Feed("\xA0"));
}

TEST(WsUtf8ValidatorTest, ResetClearsFailureAndPendingSequence) {
  Utf8Validator v;
  EXPECT_FALSE(v.Feed("\xFF"));
  v.Reset();
  EXPECT_TRUE(v.Complete());
  EXPECT_TRUE(v.Feed("\xE2\x82"));
  v.Reset();
  EXPECT_TRUE(v.Complete());
  // The pending sequence is gone, so a continuation byte is now stray.
  EXPECT_FALSE(v.Feed("\xAC"));
}

}  // namespace
}  // namespace natter
