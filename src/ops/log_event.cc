#include "ops/log_event.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/utf8.h"

namespace natter::ops {

void AppendJsonEscaped(std::string& out, std::string_view text) {
  bool utf8 = IsValidUtf8(text);
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (byte < 0x20 || byte == 0x7f || (byte >= 0x80 && !utf8)) {
          out += fmt::format("\\u{:04x}", byte);
        } else {
          out += c;
        }
    }
  }
}

LogFields& LogFields::Str(std::string_view key, std::string_view value) {
  encoded_ += kFieldMark;
  encoded_ += key;
  encoded_ += kValueMark;
  encoded_ += '"';
  AppendJsonEscaped(encoded_, value);
  encoded_ += '"';
  return *this;
}

LogFields& LogFields::Int(std::string_view key, int64_t value) {
  encoded_ += kFieldMark;
  encoded_ += key;
  encoded_ += kValueMark;
  encoded_ += std::to_string(value);
  return *this;
}

LogFields& LogFields::Bool(std::string_view key, bool value) {
  encoded_ += kFieldMark;
  encoded_ += key;
  encoded_ += kValueMark;
  encoded_ += value ? "true" : "false";
  return *this;
}

bool LogEnabled(spdlog::level::level_enum level) { return spdlog::default_logger_raw()->should_log(level); }

void LogEvent(spdlog::level::level_enum level, std::string_view event, const LogFields& fields) {
  auto* logger = spdlog::default_logger_raw();
  if (!logger->should_log(level)) return;
  std::string payload;
  payload.reserve(1 + event.size() + fields.encoded().size());
  payload += kFieldMark;
  payload += event;
  payload += fields.encoded();
  logger->log(level, "{}", payload);
}

}  // namespace natter::ops
