// Text made without allocating, locking, or calling anything a signal handler
// must not (no stdio, no locale): what a crash report is written with
// (ops/crash_report.h). Tested like any other code, outside a handler.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>

namespace natter::ops {

// Appends to a caller's fixed buffer, kept NUL-terminated. What does not fit
// is dropped: a report may come out cut short, never overrunning.
class SignalSafeText {
 public:
  SignalSafeText(char* buffer, size_t capacity);

  SignalSafeText& Str(const char* s);
  SignalSafeText& Uint(uint64_t v, int min_digits = 1);  // zero-padded to min_digits
  SignalSafeText& Int(int64_t v);
  SignalSafeText& Hex(uint64_t v);               // 0x1f
  SignalSafeText& HexDigits(uint64_t v, int n);  // the low n hex digits, zero-padded, no 0x
  SignalSafeText& UtcTime(const timespec& t);    // 2024-02-29T13:04:05.678Z
  SignalSafeText& FileStamp(const timespec& t);  // 20240229T130405.678Z: sorts as it reads
  SignalSafeText& Seconds(int64_t ms);           // 3725.042 s

  const char* data() const { return buffer_; }
  size_t size() const { return size_; }
  bool cut() const { return cut_; }

 private:
  char* buffer_;
  size_t capacity_;
  size_t size_ = 0;
  bool cut_ = false;
};

// The proleptic Gregorian date `days` days after 1970-01-01 (before it when
// negative). Howard Hinnant's civil_from_days: arithmetic only.
struct CivilDate {
  int64_t year;
  unsigned month;  // 1-12
  unsigned day;    // 1-31
};
CivilDate CivilFromDays(int64_t days);

// "SIGSEGV" for SIGSEGV, and so on for the signals a crash report is written
// for and a few more; "unknown signal" for the rest.
const char* SignalName(int signo);

}  // namespace natter::ops
