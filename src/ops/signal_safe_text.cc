#include "ops/signal_safe_text.h"

#include <csignal>

namespace natter::ops {
namespace {

// Splits a time in seconds since the epoch into date and time of day (UTC).
struct Clock {
  CivilDate date;
  unsigned hour, minute, second;
};

Clock Split(time_t t) {
  int64_t s = static_cast<int64_t>(t);
  int64_t days = s / 86400;
  int64_t rest = s % 86400;
  if (rest < 0) {
    rest += 86400;
    --days;
  }
  return {CivilFromDays(days), static_cast<unsigned>(rest / 3600), static_cast<unsigned>(rest % 3600 / 60),
          static_cast<unsigned>(rest % 60)};
}

}  // namespace

SignalSafeText::SignalSafeText(char* buffer, size_t capacity) : buffer_(buffer), capacity_(capacity) {
  if (capacity_ > 0) buffer_[0] = '\0';
}

SignalSafeText& SignalSafeText::Str(const char* s) {
  if (!s) return *this;
  for (; *s; ++s) {
    if (size_ + 1 >= capacity_) {
      cut_ = true;
      break;
    }
    buffer_[size_++] = *s;
  }
  if (capacity_ > 0) buffer_[size_] = '\0';
  return *this;
}

SignalSafeText& SignalSafeText::Uint(uint64_t v, int min_digits) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0 && n < 20);
  while (n < min_digits && n < 20) digits[n++] = '0';
  char text[24];
  for (int i = 0; i < n; ++i) text[i] = digits[n - 1 - i];
  text[n] = '\0';
  return Str(text);
}

SignalSafeText& SignalSafeText::Int(int64_t v) {
  if (v >= 0) return Uint(static_cast<uint64_t>(v));
  Str("-");
  // The magnitude of INT64_MIN does not fit an int64_t; it does a uint64_t.
  return Uint(static_cast<uint64_t>(-(v + 1)) + 1);
}

SignalSafeText& SignalSafeText::Hex(uint64_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  char text[20] = "0x";
  int shift = 60;
  while (shift > 0 && ((v >> shift) & 0xf) == 0) shift -= 4;
  int n = 2;
  for (; shift >= 0; shift -= 4) text[n++] = kDigits[(v >> shift) & 0xf];
  text[n] = '\0';
  return Str(text);
}

SignalSafeText& SignalSafeText::HexDigits(uint64_t v, int n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  char text[17];
  n = n < 1 ? 1 : n > 16 ? 16 : n;
  for (int i = 0; i < n; ++i) text[i] = kDigits[(v >> (4 * (n - 1 - i))) & 0xf];
  text[n] = '\0';
  return Str(text);
}

SignalSafeText& SignalSafeText::UtcTime(const timespec& t) {
  Clock c = Split(t.tv_sec);
  Int(c.date.year).Str("-").Uint(c.date.month, 2).Str("-").Uint(c.date.day, 2);
  Str("T").Uint(c.hour, 2).Str(":").Uint(c.minute, 2).Str(":").Uint(c.second, 2);
  return Str(".").Uint(static_cast<uint64_t>(t.tv_nsec) / 1000000, 3).Str("Z");
}

SignalSafeText& SignalSafeText::FileStamp(const timespec& t) {
  Clock c = Split(t.tv_sec);
  Int(c.date.year).Uint(c.date.month, 2).Uint(c.date.day, 2);
  Str("T").Uint(c.hour, 2).Uint(c.minute, 2).Uint(c.second, 2);
  return Str(".").Uint(static_cast<uint64_t>(t.tv_nsec) / 1000000, 3).Str("Z");
}

SignalSafeText& SignalSafeText::Seconds(int64_t ms) {
  if (ms < 0) ms = 0;
  return Int(ms / 1000).Str(".").Uint(static_cast<uint64_t>(ms % 1000), 3).Str(" s");
}

CivilDate CivilFromDays(int64_t days) {
  // http://howardhinnant.github.io/date_algorithms.html#civil_from_days
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);                 // [0, 146096]
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                // [0, 365]
  const unsigned mp = (5 * doy + 2) / 153;                                     // [0, 11], from March
  const unsigned day = doy - (153 * mp + 2) / 5 + 1;
  const unsigned month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = static_cast<int64_t>(yoe) + era * 400 + (month <= 2 ? 1 : 0);
  return {year, month, day};
}

const char* SignalName(int signo) {
  switch (signo) {
    case SIGSEGV:
      return "SIGSEGV";
    case SIGABRT:
      return "SIGABRT";
    case SIGBUS:
      return "SIGBUS";
    case SIGFPE:
      return "SIGFPE";
    case SIGILL:
      return "SIGILL";
    case SIGTRAP:
      return "SIGTRAP";
    case SIGSYS:
      return "SIGSYS";
    case SIGTERM:
      return "SIGTERM";
    case SIGKILL:
      return "SIGKILL";
    default:
      return "unknown signal";
  }
}

}  // namespace natter::ops
