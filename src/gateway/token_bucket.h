// A token bucket: `rate` requests a second on average, `burst` at once.
// Not thread-safe: one per connection, used on its thread (or under a lock).
#pragma once

#include <algorithm>
#include <cstdint>

namespace natter::gateway {

class TokenBucket {
 public:
  TokenBucket(double rate, double burst) : rate_(rate), burst_(burst), tokens_(burst) {}

  bool TryTake(int64_t now_us) {
    if (last_us_ != 0) tokens_ = std::min(burst_, tokens_ + (now_us - last_us_) * rate_ / 1e6);
    last_us_ = now_us;
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }

  // Back to a full bucket by `now_us`: as if never used.
  bool Refilled(int64_t now_us) const { return tokens_ + (now_us - last_us_) * rate_ / 1e6 >= burst_; }

 private:
  double rate_;
  double burst_;
  double tokens_;
  int64_t last_us_ = 0;
};

}  // namespace natter::gateway
