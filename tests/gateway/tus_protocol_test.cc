#include "gateway/tus_protocol.h"

#include <gtest/gtest.h>

namespace natter::gateway::tus {
namespace {

TEST(TusProtocol, UploadPaths) {
  EXPECT_TRUE(ParseUploadPath("/v1/uploads").matches);
  EXPECT_FALSE(ParseUploadPath("/v1/uploads").id);
  EXPECT_EQ(ParseUploadPath("/v1/uploads/42").id, 42);
  EXPECT_EQ(ParseUploadPath("/v1/uploads/x1").id, 0);  // an upload path, no upload's
  EXPECT_EQ(ParseUploadPath("/v1/uploads/-3").id, 0);
  EXPECT_FALSE(ParseUploadPath("/v1/uploadsx").matches);
  EXPECT_FALSE(ParseUploadPath("/v1/conversations").matches);
}

TEST(TusProtocol, Metadata) {
  auto m = ParseMetadata("filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==,is_confidential, filetype aW1hZ2UvcG5n");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)["filename"], "world_domination_plan.pdf");
  EXPECT_EQ((*m)["filetype"], "image/png");
  EXPECT_EQ((*m)["is_confidential"], "");
  EXPECT_FALSE(ParseMetadata("filename !!!").ok());
  EXPECT_FALSE(ParseMetadata("a YQ==,a Yg==").ok());  // a key twice
  EXPECT_TRUE(ParseMetadata("").ok());
}

TEST(TusProtocol, Decimals) {
  EXPECT_EQ(ParseDecimal("0"), 0);
  EXPECT_EQ(ParseDecimal("123456789"), 123456789);
  EXPECT_FALSE(ParseDecimal(""));
  EXPECT_FALSE(ParseDecimal("-1"));
  EXPECT_FALSE(ParseDecimal("1e3"));
  EXPECT_FALSE(ParseDecimal("99999999999999999999"));
}

TEST(TusProtocol, HttpDates) { EXPECT_EQ(HttpDate(784111777000), "Sun, 06 Nov 1994 08:49:37 GMT"); }

TEST(TusProtocol, Ranges) {
  auto r = ParseRange("bytes=10-", 100);
  ASSERT_TRUE(r && r->satisfiable);
  EXPECT_EQ(r->first, 10);
  EXPECT_EQ(r->last, 99);
  r = ParseRange("bytes=10-20", 100);
  EXPECT_EQ(r->last, 20);
  r = ParseRange("bytes=10-500", 100);
  EXPECT_EQ(r->last, 99);
  r = ParseRange("bytes=-30", 100);
  EXPECT_EQ(r->first, 70);
  EXPECT_EQ(r->last, 99);
  r = ParseRange("bytes=-300", 100);
  EXPECT_EQ(r->first, 0);
  EXPECT_FALSE(ParseRange("bytes=100-", 100)->satisfiable);
  EXPECT_FALSE(ParseRange("bytes=-0", 100)->satisfiable);
  EXPECT_FALSE(ParseRange("bytes=20-10", 100));  // malformed: the whole object
  EXPECT_FALSE(ParseRange("bytes=0-1,5-6", 100));
  EXPECT_FALSE(ParseRange("items=0-1", 100));
  EXPECT_FALSE(ParseRange("", 100));
}

}  // namespace
}  // namespace natter::gateway::tus
