#include "ops/log_format.h"

#include <gtest/gtest.h>
#include <spdlog/details/log_msg.h>
#include <spdlog/formatter.h>

#include <boost/json/parse.hpp>

#include "common/request_id.h"
#include "ops/log_event.h"

namespace natter::ops {
namespace {

std::string Format(LogFormat format, std::string_view payload, spdlog::level::level_enum level = spdlog::level::info) {
  spdlog::details::log_msg msg("natter", level, spdlog::string_view_t(payload.data(), payload.size()));
  spdlog::memory_buf_t out;
  MakeLogFormatter(format)->format(msg, out);
  return std::string(out.data(), out.size());
}

std::string EventPayload(std::string_view event, const LogFields& fields) {
  return std::string(1, kFieldMark) + std::string(event) + fields.encoded();
}

TEST(LogFormat, AJsonLineIsOneValidObjectWhateverTheMessageHolds) {
  std::string nasty = "a \"quote\", a \\ backslash, a\nnewline, a \x01 control and invalid UTF-8 \xff\xfe";
  std::string line = Format(LogFormat::kJson, nasty, spdlog::level::warn);
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // one line
  auto parsed = boost::json::parse(line).as_object();
  EXPECT_EQ(parsed.at("level").as_string(), "warning");
  EXPECT_TRUE(parsed.at("ts").as_string().ends_with("Z"));
  EXPECT_TRUE(parsed.at("thread").is_int64());
  EXPECT_FALSE(parsed.contains("request_id"));
  std::string msg(parsed.at("msg").as_string());
  EXPECT_TRUE(msg.starts_with("a \"quote\", a \\ backslash, a\nnewline, a \x01 control")) << msg;
}

TEST(LogFormat, AnEventsFieldsBecomeKeysOfTheLine) {
  LogFields fields;
  fields.Str("method", "GET").Str("path", "/v1/\"odd\"").Int("status", 404).Bool("tls", false);
  std::string line = Format(LogFormat::kJson, EventPayload("http_request", fields));
  auto parsed = boost::json::parse(line).as_object();
  EXPECT_EQ(parsed.at("msg").as_string(), "http_request");
  EXPECT_EQ(parsed.at("method").as_string(), "GET");
  EXPECT_EQ(parsed.at("path").as_string(), "/v1/\"odd\"");
  EXPECT_EQ(parsed.at("status").as_int64(), 404);
  EXPECT_EQ(parsed.at("tls").as_bool(), false);
}

TEST(LogFormat, TheCurrentRequestIdIsOnEveryLineOfItsThread) {
  RequestId id = NewRequestId();
  ScopedRequestId scope(id);
  auto parsed = boost::json::parse(Format(LogFormat::kJson, "anything")).as_object();
  EXPECT_EQ(parsed.at("request_id").as_string(), id.Hex());
  EXPECT_NE(Format(LogFormat::kText, "anything").find("[" + id.Hex() + "]"), std::string::npos);
}

TEST(LogFormat, ATextLineShowsFieldsAsKeyValue) {
  LogFields fields;
  fields.Str("method", "POST").Int("status", 201);
  std::string line = Format(LogFormat::kText, EventPayload("http_request", fields));
  EXPECT_NE(line.find(" info http_request method=\"POST\" status=201\n"), std::string::npos) << line;
}

TEST(LogFormat, AutoIsTextOnATerminalAndJsonElsewhere) {
  EXPECT_EQ(ParseLogFormat("auto", true), LogFormat::kText);
  EXPECT_EQ(ParseLogFormat("auto", false), LogFormat::kJson);
  EXPECT_EQ(ParseLogFormat("json", true), LogFormat::kJson);
  EXPECT_EQ(ParseLogFormat("text", false), LogFormat::kText);
  EXPECT_FALSE(ParseLogFormat("xml", false).has_value());
}

}  // namespace
}  // namespace natter::ops
