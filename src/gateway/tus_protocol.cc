#include "gateway/tus_protocol.h"

#include <sodium.h>

#include <charconv>
#include <ctime>

namespace natter::gateway::tus {

UploadPath ParseUploadPath(std::string_view path) {
  if (path == kCollection || path == std::string(kCollection) + "/") return {true, std::nullopt};
  std::string prefix = std::string(kCollection) + "/";
  if (!path.starts_with(prefix)) return {};
  auto id = ParseDecimal(path.substr(prefix.size()));
  if (!id || *id <= 0) return {true, int64_t{0}};  // an upload path, but no upload's
  return {true, id};
}

std::optional<int64_t> ParseDecimal(std::string_view s) {
  int64_t v = 0;
  if (s.empty() || s.size() > 18) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

Result<std::map<std::string, std::string>> ParseMetadata(std::string_view header) {
  std::map<std::string, std::string> out;
  while (!header.empty()) {
    size_t comma = header.find(',');
    std::string_view pair = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    while (!pair.empty() && pair.back() == ' ') pair.remove_suffix(1);
    if (pair.empty()) continue;
    size_t space = pair.find(' ');
    std::string key(pair.substr(0, space));
    std::string_view encoded = space == std::string_view::npos ? std::string_view() : pair.substr(space + 1);
    if (key.empty() || out.count(key)) return BadRequest("Upload-Metadata is malformed");
    std::string value(encoded.size(), '\0');
    size_t len = 0;
    if (!encoded.empty() &&
        sodium_base642bin(reinterpret_cast<unsigned char*>(value.data()), value.size(), encoded.data(), encoded.size(),
                          nullptr, &len, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0) {
      return BadRequest("Upload-Metadata value of '" + key + "' is not base64");
    }
    value.resize(len);
    out.emplace(std::move(key), std::move(value));
  }
  return out;
}

std::string HttpDate(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday], tm.tm_mday,
                kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::optional<ByteRange> ParseRange(std::string_view header, int64_t size) {
  constexpr std::string_view kUnit = "bytes=";
  if (!header.starts_with(kUnit)) return std::nullopt;
  header.remove_prefix(kUnit.size());
  size_t dash = header.find('-');
  if (dash == std::string_view::npos || header.find(',') != std::string_view::npos) return std::nullopt;
  std::string_view from = header.substr(0, dash), to = header.substr(dash + 1);
  if (from.empty()) {  // the last `to` bytes
    auto count = ParseDecimal(to);
    if (!count) return std::nullopt;
    if (*count == 0 || size == 0) return ByteRange{0, 0, false};
    return ByteRange{std::max<int64_t>(0, size - *count), size - 1, true};
  }
  auto first = ParseDecimal(from);
  if (!first) return std::nullopt;
  if (*first >= size) return ByteRange{0, 0, false};
  int64_t last = size - 1;
  if (!to.empty()) {
    auto l = ParseDecimal(to);
    if (!l || *l < *first) return std::nullopt;
    last = std::min(*l, size - 1);
  }
  return ByteRange{*first, last, true};
}

}  // namespace natter::gateway::tus
