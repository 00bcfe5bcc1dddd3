// Lets one log line through per interval, so that a peer sending garbage or a
// flapping link cannot flood the log; what is held back is counted and
// reported with the next line let through.
//
// Thread-safety: Allow() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>

namespace natter::nats {

class LogThrottle {
 public:
  explicit LogThrottle(std::chrono::milliseconds interval) : interval_ms_(interval.count()) {}

  // True when a line may be logged now; `suppressed` is then set to how many
  // were held back since the last one.
  bool Allow(uint64_t& suppressed) {
    int64_t now =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
            .count();
    int64_t last = last_ms_.load(std::memory_order_relaxed);
    if (last != kNever && now - last < interval_ms_) {
      held_back_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    // Of threads racing past the interval, one wins the line.
    if (!last_ms_.compare_exchange_strong(last, now, std::memory_order_relaxed)) {
      held_back_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    suppressed = held_back_.exchange(0, std::memory_order_relaxed);
    return true;
  }

 private:
  static constexpr int64_t kNever = std::numeric_limits<int64_t>::min();
  const int64_t interval_ms_;
  std::atomic<int64_t> last_ms_{kNever};
  std::atomic<uint64_t> held_back_{0};
};

}  // namespace natter::nats
