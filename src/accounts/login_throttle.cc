#include "accounts/login_throttle.h"

namespace natter::accounts {

LoginThrottle::LoginThrottle(int max_failures, int64_t window_ms, size_t max_keys)
    : max_failures_(max_failures), window_ms_(window_ms), max_keys_(max_keys) {}

bool LoginThrottle::Allowed(const std::string& key, int64_t now_ms) {
  MutexLock lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return true;
  if (now_ms - it->second.window_start >= window_ms_) {
    entries_.erase(it);
    return true;
  }
  return it->second.failures < max_failures_;
}

void LoginThrottle::RecordFailure(const std::string& key, int64_t now_ms) {
  MutexLock lock(mu_);
  if (entries_.size() >= max_keys_) EvictExpired(now_ms);
  if (entries_.size() >= max_keys_) return;  // bounded memory beats perfect accounting
  auto& e = entries_[key];
  if (e.failures == 0 || now_ms - e.window_start >= window_ms_) {
    e.failures = 0;
    e.window_start = now_ms;
  }
  ++e.failures;
}

void LoginThrottle::RecordSuccess(const std::string& key) {
  MutexLock lock(mu_);
  entries_.erase(key);
}

void LoginThrottle::EvictExpired(int64_t now_ms) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (now_ms - it->second.window_start >= window_ms_)
      it = entries_.erase(it);
    else
      ++it;
  }
}

}  // namespace natter::accounts
