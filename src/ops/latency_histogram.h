// A fixed-bucket histogram of durations, rendered in seconds in the
// Prometheus text format; or of other integer sizes (a batch's operations, a
// catch-up's conversations), rendered as they are.
//
// Thread-safety: lock-free; Observe and Render may run on any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace natter::ops {

// A fixed-bucket histogram of durations in microseconds.
class LatencyHistogram {
 public:
  static constexpr std::array<int64_t, 12> kBoundsUs = {100,   250,   500,   1000,   2500,   5000,
                                                        10000, 25000, 50000, 100000, 250000, 1000000};
  static constexpr size_t kMaxBounds = 16;

  LatencyHistogram() = default;
  // Other upper bounds (microseconds, ascending, at most kMaxBounds), for
  // durations far from a request's.
  explicit LatencyHistogram(std::span<const int64_t> bounds_us) : bounds_(bounds_us) {}
  // Values that are not durations: `bounds` in their own unit, rendered
  // divided by `divisor` (1: as they are).
  LatencyHistogram(std::span<const int64_t> bounds, double divisor) : bounds_(bounds), divisor_(divisor) {}
  void Observe(int64_t us);
  void Render(std::string& out, const char* name, const char* help) const;
  // The series alone, each with `labels` (`provider="apns"`) before `le`: for
  // one histogram family with several label sets, after its HELP and TYPE.
  void RenderSeries(std::string& out, const char* name, std::string_view labels) const;

 private:
  std::span<const int64_t> bounds_ = kBoundsUs;
  double divisor_ = 1e6;  // microseconds to seconds
  std::array<std::atomic<uint64_t>, kMaxBounds + 1> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_us_{0};
};

}  // namespace natter::ops
