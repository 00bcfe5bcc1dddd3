#include "accounts/login_throttle.h"

namespace natter::accounts {

LoginThrottle::LoginThrottle(int max_failures, int64_t window_ms, size_t max_keys)
    : max_failures_(max_failures), window_ms_(window_ms), max_keys_(max_keys) {}

LoginThrottle::Entry* LoginThrottle::Find(const std::string& key, int64_t now_ms) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return nullptr;
  Entry& e = it->second;
  if (now_ms - e.window_start >= window_ms_) {
    e.failures = 0;
    e.window_start = now_ms;
  }
  return &e;
}

bool LoginThrottle::Reserve(const std::string& account, const std::string& address, int64_t now_ms, Reservation& held) {
  MutexLock lock(mu_);
  for (const std::string* key : {&account, &address}) {
    const Entry* e = Find(*key, now_ms);
    if (e && e->failures + e->in_flight >= max_failures_) return false;
  }
  held.account = Hold(account, now_ms);
  held.address = Hold(address, now_ms);
  return true;
}

void LoginThrottle::SetMaxFailures(int max_failures) {
  MutexLock lock(mu_);
  max_failures_ = max_failures;
}

bool LoginThrottle::Hold(const std::string& key, int64_t now_ms) {
  Entry* e = Find(key, now_ms);
  if (!e) {
    if (entries_.size() >= max_keys_) EvictIdle(now_ms);
    if (entries_.size() >= max_keys_) return false;
    e = &entries_[key];
    e->window_start = now_ms;
  }
  ++e->in_flight;
  return true;
}

void LoginThrottle::Finish(const std::string& account, const std::string& address, const Reservation& held,
                           Outcome outcome, int64_t now_ms) {
  MutexLock lock(mu_);
  bool failed = outcome == Outcome::kFailed;
  if (held.account) Release(account, failed, outcome == Outcome::kSucceeded, now_ms);
  if (held.address) Release(address, failed, false, now_ms);
}

void LoginThrottle::Release(const std::string& key, bool failed, bool clear, int64_t now_ms) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  Entry* e = Find(key, now_ms);
  --e->in_flight;
  if (failed) ++e->failures;
  if (clear) e->failures = 0;
  if (e->failures == 0 && e->in_flight == 0) entries_.erase(it);
}

void LoginThrottle::EvictIdle(int64_t now_ms) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    const Entry& e = it->second;
    if (e.in_flight == 0 && now_ms - e.window_start >= window_ms_)
      it = entries_.erase(it);
    else
      ++it;
  }
}

}  // namespace natter::accounts
