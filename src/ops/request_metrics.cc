#include "ops/request_metrics.h"

#include <fmt/format.h>

#include <algorithm>

namespace natter::ops {

std::string_view RequestMetrics::CodeName(size_t index) {
  if (index == 0) return "ok";
  auto code = static_cast<ErrorCode>(index - 1);
  // The wire says unauthorized for both; a dashboard tells expiry (clients
  // refreshing, normal) from refusal (worth a look).
  if (code == ErrorCode::kTokenExpired) return "token_expired";
  return ErrorCodeName(code);
}

void RequestMetrics::Record(size_t method, std::optional<ErrorCode> error, int64_t us) {
  if (method >= kMaxMethods) return;
  counts_[method][CodeIndex(error)].fetch_add(1, std::memory_order_relaxed);
  latency_[method].Observe(us);
}

uint64_t RequestMetrics::Count(size_t method, std::optional<ErrorCode> error) const {
  return method < kMaxMethods ? counts_[method][CodeIndex(error)].load(std::memory_order_relaxed) : 0;
}

void RequestMetrics::Render(std::string& out) const {
  size_t methods = std::min(names_.size(), kMaxMethods);
  out +=
      "# HELP natter_requests_total API requests answered, by method and result code (ok or the error's code).\n"
      "# TYPE natter_requests_total counter\n";
  // ok, internal and unavailable are always there, from 0: rate() and the
  // error alerts then see a method's first failure after a restart too.
  const size_t kAlways[] = {CodeIndex(std::nullopt), CodeIndex(ErrorCode::kInternal),
                            CodeIndex(ErrorCode::kUnavailable)};
  for (size_t m = 0; m < methods; ++m) {
    for (size_t c = 0; c < kCodes; ++c) {
      uint64_t n = counts_[m][c].load(std::memory_order_relaxed);
      bool always = std::find(std::begin(kAlways), std::end(kAlways), c) != std::end(kAlways);
      if (n || always) {
        out += fmt::format("natter_requests_total{{method=\"{}\",code=\"{}\"}} {}\n", names_[m], CodeName(c), n);
      }
    }
  }
  out +=
      "# HELP natter_request_duration_seconds Time from a request read to its answer, by method.\n"
      "# TYPE natter_request_duration_seconds histogram\n";
  for (size_t m = 0; m < methods; ++m) {
    bool called = false;
    for (size_t c = 0; c < kCodes && !called; ++c) called = counts_[m][c].load(std::memory_order_relaxed) != 0;
    if (called)
      latency_[m].RenderSeries(out, "natter_request_duration_seconds", fmt::format("method=\"{}\"", names_[m]));
  }
}

}  // namespace natter::ops
