#include "media/download_url.h"

#include <gtest/gtest.h>

namespace natter::media {
namespace {

const std::string kSha(64, 'a');

TEST(DownloadUrls, WhatIsSignedVerifiesUntilItExpires) {
  DownloadUrls urls(std::string(32, 'k'));
  std::string url = urls.Sign(BlobGrant{kSha, "image/jpeg", "IMG 1.jpg", 1000});
  EXPECT_EQ(url.rfind("/v1/media/blob/" + kSha + "?", 0), 0u) << url;
  auto g = urls.Verify(url, 999);
  ASSERT_TRUE(g.ok()) << g.error().message;
  EXPECT_EQ(g->mime, "image/jpeg");
  EXPECT_EQ(g->filename, "IMG 1.jpg");
  EXPECT_EQ(urls.Verify(url, 1001).error().code, ErrorCode::kForbidden);
  // Another key signed nothing here.
  EXPECT_EQ(DownloadUrls(std::string(32, 'x')).Verify(url, 999).error().code, ErrorCode::kForbidden);
}

TEST(DownloadUrls, NoPartCanChange) {
  DownloadUrls urls(std::string(32, 'k'));
  std::string url = urls.Sign(BlobGrant{kSha, "image/jpeg", "a.jpg", 1000});
  auto changed = [&](std::string from, std::string to) {
    std::string u = url;
    u.replace(u.find(from), from.size(), to);
    return urls.Verify(u, 0);
  };
  EXPECT_FALSE(changed("image%2Fjpeg", "text%2Fhtml").ok());
  EXPECT_FALSE(changed("a.jpg", "b.jpg").ok());
  EXPECT_FALSE(changed("expires=1000", "expires=9000").ok());
  EXPECT_FALSE(changed(kSha, std::string(64, 'b')).ok());
  EXPECT_EQ(urls.Verify("/v1/media/blob/../../etc/passwd?sig=x", 0).error().code, ErrorCode::kNotFound);
}

// Fields move between type and name without changing the signed text only
// when the fields are not delimited: they are (each with its length).
TEST(DownloadUrls, FieldsCannotTradeBytes) {
  DownloadUrls urls(std::string(32, 'k'));
  std::string url = urls.Sign(BlobGrant{kSha, "image/jpeg", "x\ny", 1000});
  std::string forged = url;
  forged.replace(forged.find("type=image%2Fjpeg"), 17, "type=image%2Fjpeg%0Ax");
  forged.replace(forged.find("name=x%0Ay"), 10, "name=y");
  EXPECT_FALSE(urls.Verify(forged, 0).ok());
}

}  // namespace
}  // namespace natter::media
