// Per API method (api/method_table.h), on either transport: requests by
// result code and how long they took, from the request read to its answer.
// Rendered as natter_requests_total{method,code} and
// natter_request_duration_seconds{method}; methods never called are left out.
//
// Thread-safety: SetMethodNames once before serving; Record and Render on
// any thread (relaxed atomics).
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "natter/status.h"
#include "ops/latency_histogram.h"

namespace natter::ops {

class RequestMetrics {
 public:
  static constexpr size_t kMaxMethods = 128;
  // "ok", then one per ErrorCode (token_expired apart from unauthorized).
  static constexpr size_t kCodes = 1 + static_cast<size_t>(ErrorCode::kInternal) + 1;

  // The methods' names, by their index in the method table.
  void SetMethodNames(std::vector<std::string_view> names) { names_ = std::move(names); }
  // `error`: none for a result. A method index past the table is ignored.
  void Record(size_t method, std::optional<ErrorCode> error, int64_t us);
  void Render(std::string& out) const;
  // The count for one method and code (tests).
  uint64_t Count(size_t method, std::optional<ErrorCode> error) const;

 private:
  // A code added after kInternal would be counted as internal, never past the table.
  static size_t CodeIndex(std::optional<ErrorCode> error) {
    return error ? std::min(kCodes - 1, 1 + static_cast<size_t>(*error)) : 0;
  }
  static std::string_view CodeName(size_t index);

  std::vector<std::string_view> names_;
  std::array<std::array<std::atomic<uint64_t>, kCodes>, kMaxMethods> counts_{};
  std::array<LatencyHistogram, kMaxMethods> latency_{};
};

}  // namespace natter::ops
