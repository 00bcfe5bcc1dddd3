#include "media/s3_client.h"

#include <gtest/gtest.h>

namespace natter::media {
namespace {

S3Config Config(bool path_style) {
  S3Config c;
  c.endpoint = "https://s3.eu-west-1.amazonaws.com";
  c.region = "eu-west-1";
  c.bucket = "chat-media";
  c.path_style = path_style;
  c.credentials = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
  return c;
}

TEST(S3Client, RefusesWhatCannotBeAStore) {
  ManualClock clock(0);
  auto refused = [&](auto change) {
    S3Config c = Config(true);
    change(c);
    auto client = S3Client::Create(c, clock);
    return !client.ok() && client.error().code == ErrorCode::kBadRequest;
  };
  EXPECT_TRUE(refused([](S3Config& c) { c.endpoint = "s3.amazonaws.com"; }));
  EXPECT_TRUE(refused([](S3Config& c) { c.endpoint = "ftp://s3.amazonaws.com"; }));
  EXPECT_TRUE(refused([](S3Config& c) { c.endpoint = "https://s3.amazonaws.com/prefix"; }));
  EXPECT_TRUE(refused([](S3Config& c) { c.endpoint = "https://user@s3.amazonaws.com"; }));
  EXPECT_TRUE(refused([](S3Config& c) { c.bucket = ""; }));
  EXPECT_TRUE(refused([](S3Config& c) { c.bucket = "Media/../x"; }));
  EXPECT_TRUE(refused([](S3Config& c) { c.region = ""; }));
  EXPECT_TRUE(refused([](S3Config& c) { c.credentials.secret_access_key = ""; }));
  EXPECT_TRUE(S3Client::Create(Config(true), clock).ok());
  // A trailing slash is only a slash.
  EXPECT_TRUE(refused([](S3Config& c) { c.endpoint = "https://"; }));
  EXPECT_FALSE(refused([](S3Config& c) { c.endpoint = "http://127.0.0.1:9000/"; }));
}

TEST(S3Client, PartUrlsSignTheirLengthAndNameTheBucketAsConfigured) {
  ManualClock clock(1'440'938'160'000);  // 2015-08-30T12:36:00Z
  auto path = S3Client::Create(Config(true), clock);
  ASSERT_TRUE(path.ok());
  std::string url = (*path)->PresignPart("uploads/42", "up-id", 3, 1000, 600);
  EXPECT_EQ(url.rfind("https://s3.eu-west-1.amazonaws.com/chat-media/uploads/42?partNumber=3&uploadId=up-id&", 0), 0u)
      << url;
  EXPECT_NE(url.find("X-Amz-Date=20150830T123600Z"), std::string::npos) << url;
  EXPECT_NE(url.find("X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Feu-west-1%2Fs3%2Faws4_request"), std::string::npos);
  EXPECT_NE(url.find("X-Amz-SignedHeaders=content-length%3Bhost"), std::string::npos) << url;
  EXPECT_NE(url.find("X-Amz-Expires=600"), std::string::npos);
  // Another length or part is another signature.
  std::string sig = url.substr(url.find("X-Amz-Signature="));
  EXPECT_EQ(sig.size(), 16u + 64u);
  std::string other = (*path)->PresignPart("uploads/42", "up-id", 3, 1001, 600);
  EXPECT_NE(other.substr(other.find("X-Amz-Signature=")), sig);

  auto vhost = S3Client::Create(Config(false), clock);
  ASSERT_TRUE(vhost.ok());
  std::string get = (*vhost)->PresignGet("blobs/abc", 300, "image/jpeg", "inline; filename*=UTF-8''a%20b.jpg");
  EXPECT_EQ(get.rfind("https://chat-media.s3.eu-west-1.amazonaws.com/blobs/abc?", 0), 0u) << get;
  // The response overrides are signed query params, encoded once more.
  EXPECT_NE(get.find("response-content-type=image%2Fjpeg"), std::string::npos) << get;
  EXPECT_NE(get.find("response-content-disposition=inline%3B%20filename%2A%3DUTF-8%27%27a%2520b.jpg"),
            std::string::npos)
      << get;
}

TEST(XmlText, FindsATagAndDecodesItsEntities) {
  std::string xml =
      "<?xml version=\"1.0\"?><InitiateMultipartUploadResult><Bucket>b</Bucket><UploadId>VXBsb2FkIElE&amp;x"
      "</UploadId></InitiateMultipartUploadResult>";
  EXPECT_EQ(XmlText(xml, "UploadId"), "VXBsb2FkIElE&x");
  EXPECT_EQ(XmlText("<Error><Code>NoSuchUpload</Code><Message>gone &quot;now&quot;</Message></Error>", "Message"),
            "gone \"now\"");
  EXPECT_EQ(XmlText("<Code>unclosed", "Code"), "");
  EXPECT_EQ(XmlText("", "Code"), "");
}

}  // namespace
}  // namespace natter::media
