#include "auth/refresh_token.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "auth/base64url.h"

namespace natter::auth {
namespace {

TEST(RefreshTokenTest, NewTokenIs32RandomBytesInBase64Url) {
  const std::string token = NewRefreshToken();
  EXPECT_EQ(token.size(), 43u);
  const std::optional<std::string> bytes = Base64UrlDecode(token);
  ASSERT_TRUE(bytes.has_value());
  EXPECT_EQ(bytes->size(), 32u);
}

TEST(RefreshTokenTest, TokensDoNotRepeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(NewRefreshToken());
  EXPECT_EQ(seen.size(), 100u);
}

TEST(RefreshTokenTest, HashIsStableLowercaseHexSha256) {
  const std::string token = NewRefreshToken();
  const std::string hash = HashRefreshToken(token);
  EXPECT_EQ(hash.size(), 64u);
  EXPECT_EQ(hash.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(HashRefreshToken(token), hash);
  EXPECT_NE(HashRefreshToken(NewRefreshToken()), hash);
  // FIPS 180-2 test vector.
  EXPECT_EQ(HashRefreshToken("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace natter::auth
