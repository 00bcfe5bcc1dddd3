// Structured log events: a name ("http_request", "login_failed") and typed
// fields that a JSON line carries as its own keys and a text line as
// key=value. Callers never put a token, a password or a message's text in a
// field (docs/operations.md says what each event holds).
//
// Thread-safety: a LogFields is built and logged on one thread; LogEvent may
// be called from any thread.
#pragma once

#include <spdlog/common.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace natter::ops {

// The fields of one event, each value already encoded as JSON.
class LogFields {
 public:
  LogFields& Str(std::string_view key, std::string_view value);
  LogFields& Int(std::string_view key, int64_t value);
  LogFields& Bool(std::string_view key, bool value);

  const std::string& encoded() const { return encoded_; }

 private:
  // Per field: kFieldMark, the key, kValueMark, the JSON value.
  std::string encoded_;
};

// Marks a payload that is an event, and separates its fields; never found in
// a field's encoded value (JSON escapes control characters).
inline constexpr char kFieldMark = '\x1e';
inline constexpr char kValueMark = '\x1f';

// Logs `event` with `fields` at `level` (nothing is built below the level).
void LogEvent(spdlog::level::level_enum level, std::string_view event, const LogFields& fields);
// Whether `level` is logged at all: to skip building fields that would be dropped.
bool LogEnabled(spdlog::level::level_enum level);

// Appends `text` to `out` as the inside of a JSON string: quotes, backslashes
// and control characters escaped; bytes of invalid UTF-8 as \u00XX, so the
// line stays valid JSON whatever a message holds.
void AppendJsonEscaped(std::string& out, std::string_view text);

}  // namespace natter::ops
