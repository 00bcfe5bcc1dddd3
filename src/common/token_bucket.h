// A token bucket: `rate` requests a second on average, `burst` at once; and
// a table of them by key (a user, an address) for budgets shared by threads.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <unordered_map>

#include "common/mutex.h"

namespace natter {

// Not thread-safe: one per connection, used on its thread (or under a lock).
class TokenBucket {
 public:
  TokenBucket(double rate, double burst) : rate_(rate), burst_(burst), tokens_(burst) {}

  bool TryTake(int64_t now_us, double n = 1) {
    if (last_us_ != 0) tokens_ = std::min(burst_, tokens_ + (now_us - last_us_) * rate_ / 1e6);
    last_us_ = now_us;
    if (tokens_ < n) return false;
    tokens_ -= n;
    return true;
  }

  // Gives back `n` tokens taken for what did not happen (at most a full bucket).
  void Give(double n) { tokens_ = std::min(burst_, tokens_ + n); }

  // A new rate and size (a reload): what is left stays, up to the new size.
  void SetRate(double rate, double burst) {
    rate_ = rate;
    burst_ = burst;
    tokens_ = std::min(tokens_, burst_);
  }

  // Back to a full bucket by `now_us`: as if never used.
  bool Refilled(int64_t now_us) const { return tokens_ + (now_us - last_us_) * rate_ / 1e6 >= burst_; }

 private:
  double rate_;
  double burst_;
  double tokens_;
  int64_t last_us_ = 0;
};

// Buckets by key. Bounded: past max_keys, buckets that have refilled (and so
// hold no memory of the past) are forgotten; when none has, a new key goes
// unlimited rather than growing the table.
// Thread-safety: all methods may be called from any thread.
template <typename Key>
class KeyedBuckets {
 public:
  KeyedBuckets(double rate, double burst, size_t max_keys = 100000) : rate_(rate), burst_(burst), max_keys_(max_keys) {}

  // Takes `n` tokens, or none when fewer are left.
  bool Take(const Key& key, int64_t now_us, double n = 1) {
    MutexLock lock(mu_);
    auto it = buckets_.find(key);
    if (it == buckets_.end()) {
      if (buckets_.size() >= max_keys_) {
        // At most one sweep a second: a flood of new keys must not make each
        // of them scan the table.
        if (now_us - last_sweep_us_ >= 1'000'000) {
          last_sweep_us_ = now_us;
          std::erase_if(buckets_, [now_us](const auto& entry) { return entry.second.Refilled(now_us); });
        }
        if (buckets_.size() >= max_keys_) return true;
      }
      it = buckets_.emplace(key, TokenBucket(rate_, burst_)).first;
    }
    return it->second.TryTake(now_us, n);
  }

  // Gives back `n` tokens that Take took for what did not happen.
  void Give(const Key& key, double n) {
    MutexLock lock(mu_);
    if (auto it = buckets_.find(key); it != buckets_.end()) it->second.Give(n);
  }

  // A new rate and size for every key, those seen already included.
  void SetRate(double rate, double burst) {
    MutexLock lock(mu_);
    rate_ = rate;
    burst_ = burst;
    for (auto& [key, bucket] : buckets_) bucket.SetRate(rate, burst);
  }

 private:
  Mutex mu_;
  double rate_ GUARDED_BY(mu_);
  double burst_ GUARDED_BY(mu_);
  const size_t max_keys_;
  std::unordered_map<Key, TokenBucket> buckets_ GUARDED_BY(mu_);
  int64_t last_sweep_us_ GUARDED_BY(mu_) = INT64_MIN / 2;
};

}  // namespace natter
