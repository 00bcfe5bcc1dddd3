// SigV4 against AWS's published vectors: the Signature Version 4 test suite
// (service "service", us-east-1, 2015-08-30T12:36:00Z, credentials
// AKIDEXAMPLE) in both its header and query forms, and the examples of the S3
// documentation (a GET with a Range header, a presigned GET).
#include "media/sigv4.h"

#include <gtest/gtest.h>

namespace natter::media {
namespace {

const AwsCredentials kSuiteCreds{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
constexpr int64_t kSuiteTime = 1440938160;  // 2015-08-30T12:36:00Z

SigV4Scope SuiteScope() { return SigV4Scope{"us-east-1", "service", kSuiteTime}; }

SigV4Request Get(std::string path, std::vector<std::pair<std::string, std::string>> query = {}) {
  return SigV4Request{
      "GET", std::move(path), std::move(query), {{"Host", "example.amazonaws.com"}}, std::string(kEmptyPayloadHash)};
}

struct Vector {
  const char* name;
  SigV4Request request;
  AwsCredentials creds;
  const char* header_signature;
  const char* query_signature;
};

std::vector<Vector> SuiteVectors() {
  AwsCredentials with_token = kSuiteCreds;
  with_token.session_token = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267";
  return {
      {"get-vanilla", Get("/"), kSuiteCreds, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
       "e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d"},
      {"get-vanilla-query-order-key-case", Get("/", {{"Param2", "value2"}, {"Param1", "value1"}}), kSuiteCreds,
       "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
       "86012e2c9ad4d77369f5d81c11f75158aae4f895a085212cc6d3f923d300bed5"},
      {"get-unreserved", Get("/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"), kSuiteCreds,
       "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f",
       "95968482db1b9e0fadef6efc1bd24689f77c77d9ef56919c96a28cc92e0d6005"},
      {"get-utf8", Get("/\xE1\x88\xB4"), kSuiteCreds,
       "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85",
       "10eae3f14a260bd3911cc6d008d3c576d143b05b62f09782a7a4b37f52178e44"},
      {"get-vanilla-utf8-query", Get("/", {{"\xE1\x88\xB4", "bar"}}), kSuiteCreds,
       "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04",
       "0bdd809b1519ac4f0c1dc3540e2cc46bd0c7f778eda408b2ebf3b913d21ff600"},
      {"get-vanilla-with-session-token", Get("/"), with_token,
       "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8",
       "7ff2b50b376cb4d151970630573d6291dc128cc5c2a12ffb237f73cc53f67b6c"},
  };
}

TEST(SigV4, SuiteHeaderForm) {
  for (Vector v : SuiteVectors()) {
    std::string auth = SignWithHeader(v.request, SuiteScope(), v.creds);
    EXPECT_NE(auth.find(std::string("Signature=") + v.header_signature), std::string::npos) << v.name << ": " << auth;
  }
}

TEST(SigV4, SuiteQueryForm) {
  for (Vector v : SuiteVectors()) {
    std::string query = Presign(v.request, SuiteScope(), v.creds, 3600);
    EXPECT_NE(query.find(std::string("&X-Amz-Signature=") + v.query_signature), std::string::npos)
        << v.name << ": " << query;
  }
}

// The body is signed: x-amz-content-sha256 is one of the headers (the suite's
// post-x-www-form-urlencoded, header form), and its canonical request is the
// suite's, line for line.
TEST(SigV4, SuiteSignedBody) {
  std::string body_hash = HexSha256("Param1=value1");
  SigV4Request post{"POST",
                    "/",
                    {},
                    {{"Content-Type", "application/x-www-form-urlencoded"},
                     {"Host", "example.amazonaws.com"},
                     {"Content-Length", "13"},
                     {"X-Amz-Content-Sha256", body_hash}},
                    body_hash};
  std::string auth = SignWithHeader(post, SuiteScope(), kSuiteCreds);
  EXPECT_EQ(CanonicalRequest(post),
            "POST\n/\n\ncontent-length:13\ncontent-type:application/x-www-form-urlencoded\n"
            "host:example.amazonaws.com\nx-amz-content-sha256:" +
                body_hash +
                "\nx-amz-date:20150830T123600Z\n\n"
                "content-length;content-type;host;x-amz-content-sha256;x-amz-date\n" +
                body_hash);
  EXPECT_NE(auth.find("Signature=d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b"), std::string::npos)
      << auth;
}

const AwsCredentials kS3DocCreds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
constexpr int64_t kS3DocTime = 1369353600;  // 2013-05-24T00:00:00Z

TEST(SigV4, S3GetObjectWithRange) {
  SigV4Request req{"GET",
                   "/test.txt",
                   {},
                   {{"Host", "examplebucket.s3.amazonaws.com"},
                    {"Range", "bytes=0-9"},
                    {"x-amz-content-sha256", std::string(kEmptyPayloadHash)}},
                   std::string(kEmptyPayloadHash)};
  std::string auth = SignWithHeader(req, SigV4Scope{"us-east-1", "s3", kS3DocTime}, kS3DocCreds);
  EXPECT_EQ(auth,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4, S3PresignedGet) {
  SigV4Request req{"GET", "/test.txt", {}, {{"Host", "examplebucket.s3.amazonaws.com"}}, std::string(kUnsignedPayload)};
  std::string query = Presign(req, SigV4Scope{"us-east-1", "s3", kS3DocTime}, kS3DocCreds, 86400);
  EXPECT_EQ(query,
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%"
            "2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-SignedHeaders=host&X-Amz-Expires=86400&X-Amz-"
            "Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

TEST(SigV4, EncodesAsAwsDoes) {
  EXPECT_EQ(AwsUriEncode("a b/c+d~e", false), "a%20b%2Fc%2Bd~e");
  EXPECT_EQ(AwsUriEncode("a b/c", true), "a%20b/c");
  EXPECT_EQ(AmzDate(kSuiteTime), "20150830T123600Z");
}

}  // namespace
}  // namespace natter::media
