#include "common/request_id.h"

#include <fmt/format.h>

#include <random>

namespace natter {
namespace {

thread_local RequestId current;

std::optional<uint64_t> ParseHex64(std::string_view hex) {
  if (hex.size() != 16) return std::nullopt;
  uint64_t v = 0;
  for (char c : hex) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else {
      return std::nullopt;  // the spec's hex is lowercase only
    }
    v = v << 4 | static_cast<uint64_t>(d);
  }
  return v;
}

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::string RequestId::Hex() const { return empty() ? std::string() : fmt::format("{:016x}{:016x}", hi, lo); }

RequestId NewRequestId() {
  // Not a secret: a per-thread generator seeded once is enough to keep ids
  // from colliding across threads and nodes.
  thread_local std::mt19937_64 gen{(static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}()};
  RequestId id{gen(), gen()};
  if (id.empty()) id.lo = 1;
  return id;
}

std::optional<RequestId> ParseRequestIdHex(std::string_view hex) {
  if (hex.size() != 32) return std::nullopt;
  auto hi = ParseHex64(hex.substr(0, 16));
  auto lo = ParseHex64(hex.substr(16));
  if (!hi || !lo) return std::nullopt;
  return RequestId{*hi, *lo};
}

std::optional<RequestId> ParseTraceparent(std::string_view h) {
  // version "-" trace-id "-" parent-id "-" flags: 2 + 1 + 32 + 1 + 16 + 1 + 2.
  // A later version may append fields after another "-"; version 00 may not.
  if (h.size() < 55 || h[2] != '-' || h[35] != '-' || h[52] != '-') return std::nullopt;
  std::string_view version = h.substr(0, 2), parent = h.substr(36, 16), flags = h.substr(53, 2);
  if (!IsLowerHex(version) || version == "ff" || !IsLowerHex(parent) || !IsLowerHex(flags)) return std::nullopt;
  if (version == "00" ? h.size() != 55 : (h.size() > 55 && h[55] != '-')) return std::nullopt;
  if (parent == "0000000000000000") return std::nullopt;
  auto id = ParseRequestIdHex(h.substr(3, 32));
  if (!id || id->empty()) return std::nullopt;
  return id;
}

RequestId CurrentRequestId() { return current; }

ScopedRequestId::ScopedRequestId(RequestId id) : previous_(current) { current = id; }

ScopedRequestId::~ScopedRequestId() { current = previous_; }

}  // namespace natter
