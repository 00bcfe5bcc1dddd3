#include "gateway/request_limiter.h"

namespace natter::gateway {

template <typename Key>
bool RequestLimiter::Table<Key>::Take(const Key& key, int64_t now_us) {
  MutexLock lock(mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) {
      std::erase_if(buckets_, [now_us](const auto& entry) { return entry.second.Refilled(now_us); });
      if (buckets_.size() >= max_keys_) return true;
    }
    it = buckets_.emplace(key, TokenBucket(rate_, burst_)).first;
  }
  return it->second.TryTake(now_us);
}

RequestLimiter::RequestLimiter(const GatewayOptions& o, size_t max_keys)
    : users_(o.requests_per_second, o.request_burst, max_keys),
      addresses_(o.requests_per_second, o.request_burst, max_keys),
      typing_(o.typing_per_second, o.typing_burst, max_keys) {}

bool RequestLimiter::TakeHttp(UserId user, std::string_view address, int64_t now_us) {
  return user != 0 ? users_.Take(user, now_us) : addresses_.Take(std::string(address), now_us);
}

bool RequestLimiter::TakeAnonymous(std::string_view address, int64_t now_us) {
  return addresses_.Take(std::string(address), now_us);
}

bool RequestLimiter::TakeHttpTyping(UserId user, int64_t now_us) { return typing_.Take(user, now_us); }

}  // namespace natter::gateway
