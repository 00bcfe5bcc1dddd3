#include "bench/frame_fields.h"

namespace natter::bench {

std::string_view FrameType(std::string_view frame) {
  constexpr std::string_view kPrefix = "{\"type\":\"";
  if (frame.substr(0, kPrefix.size()) != kPrefix) return {};
  const size_t end = frame.find('"', kPrefix.size());
  if (end == std::string_view::npos) return {};
  return frame.substr(kPrefix.size(), end - kPrefix.size());
}

bool FindInt(std::string_view frame, std::string_view key, int64_t& out, size_t from) {
  const size_t at = frame.find(key, from);
  if (at == std::string_view::npos) return false;
  size_t i = at + key.size();
  bool negative = false;
  if (i < frame.size() && frame[i] == '-') {
    negative = true;
    ++i;
  }
  if (i >= frame.size() || frame[i] < '0' || frame[i] > '9') return false;
  int64_t v = 0;
  while (i < frame.size() && frame[i] >= '0' && frame[i] <= '9') v = v * 10 + (frame[i++] - '0');
  out = negative ? -v : v;
  return true;
}

bool FindString(std::string_view frame, std::string_view key, std::string_view& out, size_t from) {
  const size_t at = frame.find(key, from);
  if (at == std::string_view::npos) return false;
  size_t i = at + key.size();
  if (i >= frame.size() || frame[i] != '"') return false;
  size_t end = i + 1;
  while (end < frame.size() && frame[end] != '"') end += frame[end] == '\\' ? 2 : 1;
  if (end >= frame.size()) return false;
  out = frame.substr(i + 1, end - i - 1);
  return true;
}

// Plain messages carry it at the start of their text, encrypted ones in
// their client_msg_id.
bool FindSendTime(std::string_view frame, int64_t& ns) {
  return FindInt(frame, "\"text\":\"t=", ns) || FindInt(frame, "\"client_msg_id\":\"t=", ns);
}

}  // namespace natter::bench
