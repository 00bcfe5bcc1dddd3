#include "ops/signal_safe_text.h"

#include <gtest/gtest.h>

#include <csignal>
#include <cstdint>
#include <string>

namespace natter::ops {
namespace {

std::string Text(const SignalSafeText& t) { return std::string(t.data(), t.size()); }

TEST(SignalSafeText, Numbers) {
  char buffer[128];
  SignalSafeText t(buffer, sizeof buffer);
  t.Uint(0).Str(" ").Uint(42).Str(" ").Uint(7, 3).Str(" ").Uint(UINT64_MAX);
  t.Str(" ").Int(-5).Str(" ").Int(INT64_MIN).Str(" ").Hex(0).Str(" ").Hex(0xdeadbeef).Str(" ").Hex(UINT64_MAX);
  EXPECT_EQ(Text(t), "0 42 007 18446744073709551615 -5 -9223372036854775808 0x0 0xdeadbeef 0xffffffffffffffff");
  EXPECT_FALSE(t.cut());
  EXPECT_EQ(buffer[t.size()], '\0');
}

TEST(SignalSafeText, WhatDoesNotFitIsDroppedAndTheBufferStaysTerminated) {
  char buffer[8];
  SignalSafeText t(buffer, sizeof buffer);
  t.Str("natterd").Str(" crashed");
  EXPECT_EQ(Text(t), "natterd");
  EXPECT_TRUE(t.cut());
  EXPECT_EQ(buffer[7], '\0');
  t.Uint(12345);
  EXPECT_EQ(Text(t), "natterd");
}

TEST(SignalSafeText, CivilFromDaysAgreesWithKnownDates) {
  struct Case {
    int64_t days;
    int64_t year;
    unsigned month, day;
  };
  for (const Case& c : {Case{0, 1970, 1, 1}, Case{-1, 1969, 12, 31}, Case{11016, 2000, 2, 29}, Case{11017, 2000, 3, 1},
                        Case{19782, 2024, 2, 29}, Case{47482, 2100, 1, 1}, Case{-719468, 0, 3, 1}}) {
    CivilDate d = CivilFromDays(c.days);
    EXPECT_EQ(d.year, c.year) << c.days;
    EXPECT_EQ(d.month, c.month) << c.days;
    EXPECT_EQ(d.day, c.day) << c.days;
  }
}

TEST(SignalSafeText, CivilFromDaysAgreesWithGmtimeEveryDayForCenturies) {
  // 1900-01-01 to 2200-12-31: leap years, century rules, month ends.
  for (int64_t days = -25567; days <= 84000; ++days) {
    time_t t = static_cast<time_t>(days) * 86400;
    std::tm tm{};
    ASSERT_NE(gmtime_r(&t, &tm), nullptr);
    CivilDate d = CivilFromDays(days);
    ASSERT_EQ(d.year, tm.tm_year + 1900) << days;
    ASSERT_EQ(d.month, static_cast<unsigned>(tm.tm_mon + 1)) << days;
    ASSERT_EQ(d.day, static_cast<unsigned>(tm.tm_mday)) << days;
  }
}

TEST(SignalSafeText, TimesAsTheReportAndTheFileNameShowThem) {
  char buffer[128];
  SignalSafeText t(buffer, sizeof buffer);
  t.UtcTime(timespec{951827045, 678900000}).Str(" ").FileStamp(timespec{951827045, 5000000});
  t.Str(" ").UtcTime(timespec{0, 0});
  EXPECT_EQ(Text(t), "2000-02-29T12:24:05.678Z 20000229T122405.005Z 1970-01-01T00:00:00.000Z");
}

TEST(SignalSafeText, Seconds) {
  char buffer[64];
  SignalSafeText t(buffer, sizeof buffer);
  t.Seconds(0).Str(", ").Seconds(1042).Str(", ").Seconds(3725042).Str(", ").Seconds(-3);
  EXPECT_EQ(Text(t), "0.000 s, 1.042 s, 3725.042 s, 0.000 s");
}

TEST(SignalSafeText, SignalNames) {
  EXPECT_STREQ(SignalName(SIGSEGV), "SIGSEGV");
  EXPECT_STREQ(SignalName(SIGABRT), "SIGABRT");
  EXPECT_STREQ(SignalName(SIGBUS), "SIGBUS");
  EXPECT_STREQ(SignalName(SIGFPE), "SIGFPE");
  EXPECT_STREQ(SignalName(SIGILL), "SIGILL");
  EXPECT_STREQ(SignalName(0), "unknown signal");
}

}  // namespace
}  // namespace natter::ops
