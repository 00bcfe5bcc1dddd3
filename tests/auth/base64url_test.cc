#include "auth/base64url.h"

#include <gtest/gtest.h>

#include <string>

namespace natter::auth {
namespace {

TEST(Base64UrlTest, EncodesRfc4648Vectors) {
  // RFC 4648 section 10, with the padding removed.
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("foob"), "Zm9vYg");
  EXPECT_EQ(Base64UrlEncode("fooba"), "Zm9vYmE");
  EXPECT_EQ(Base64UrlEncode("foobar"), "Zm9vYmFy");
}

TEST(Base64UrlTest, UsesUrlSafeAlphabet) {
  // These bytes map to '+' and '/' in standard base64.
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(Base64UrlDecode("-_8"), std::optional<std::string>("\xfb\xff"));
}

TEST(Base64UrlTest, DecodesRfc4648Vectors) {
  EXPECT_EQ(Base64UrlDecode(""), std::optional<std::string>(""));
  EXPECT_EQ(Base64UrlDecode("Zg"), std::optional<std::string>("f"));
  EXPECT_EQ(Base64UrlDecode("Zm8"), std::optional<std::string>("fo"));
  EXPECT_EQ(Base64UrlDecode("Zm9v"), std::optional<std::string>("foo"));
  EXPECT_EQ(Base64UrlDecode("Zm9vYmFy"), std::optional<std::string>("foobar"));
}

TEST(Base64UrlTest, RoundTripsEveryByteValueAndLength) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  for (size_t length = 0; length <= bytes.size(); ++length) {
    const std::string input = bytes.substr(bytes.size() - length);
    const std::string encoded = Base64UrlEncode(input);
    EXPECT_EQ(encoded.find_first_of("=+/"), std::string::npos);
    EXPECT_EQ(Base64UrlDecode(encoded), std::optional<std::string>(input));
  }
}

TEST(Base64UrlTest, DecodesEmbeddedNulBytes) {
  EXPECT_EQ(Base64UrlDecode("AAA"), std::optional<std::string>(std::string(2, '\0')));
}

TEST(Base64UrlTest, RejectsPadding) {
  EXPECT_FALSE(Base64UrlDecode("Zg=="));
  EXPECT_FALSE(Base64UrlDecode("Zm8="));
  EXPECT_FALSE(Base64UrlDecode("===="));
}

TEST(Base64UrlTest, RejectsStandardAlphabetAndStrayCharacters) {
  EXPECT_FALSE(Base64UrlDecode("Zm+v"));
  EXPECT_FALSE(Base64UrlDecode("Zm/v"));
  EXPECT_FALSE(Base64UrlDecode("Zm9 v"));
  EXPECT_FALSE(Base64UrlDecode("Zm9v\n"));
  EXPECT_FALSE(Base64UrlDecode("\tZm9v"));
  EXPECT_FALSE(Base64UrlDecode("Zm.v"));
  EXPECT_FALSE(Base64UrlDecode(std::string("Zm\0v", 4)));
  EXPECT_FALSE(Base64UrlDecode("Zm9\xc3\xa9"));
}

TEST(Base64UrlTest, RejectsImpossibleLengths) {
  EXPECT_FALSE(Base64UrlDecode("Z"));
  EXPECT_FALSE(Base64UrlDecode("Zm9vY"));
  EXPECT_FALSE(Base64UrlDecode("Zm9vYmFyZ"));
}

TEST(Base64UrlTest, RejectsNonZeroTrailingBits) {
  // "Zg" is "f"; "Zh".."Zv" carry the same byte plus set padding bits.
  EXPECT_FALSE(Base64UrlDecode("Zh"));
  EXPECT_FALSE(Base64UrlDecode("Zv"));
  // "Zm8" is "fo"; "Zm9" sets one of the two padding bits.
  EXPECT_FALSE(Base64UrlDecode("Zm9"));
  EXPECT_FALSE(Base64UrlDecode("Zm_"));
  EXPECT_TRUE(Base64UrlDecode("Zm8"));
}

}  // namespace
}  // namespace natter::auth
