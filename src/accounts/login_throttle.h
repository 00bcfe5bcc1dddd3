// Limits failed login attempts per account and per client address, so
// passwords cannot be guessed at speed. A key that failed `max_failures` times
// within `window_ms` is refused until the window passes.
// Thread-safety: all methods may be called from any thread (one mutex; the
// login path is slow anyway because of Argon2id).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include "common/mutex.h"

namespace natter::accounts {

class LoginThrottle {
 public:
  LoginThrottle(int max_failures, int64_t window_ms, size_t max_keys = 100000);

  bool Allowed(const std::string& key, int64_t now_ms);
  void RecordFailure(const std::string& key, int64_t now_ms);
  void RecordSuccess(const std::string& key);

 private:
  struct Entry {
    int failures = 0;
    int64_t window_start = 0;
  };
  void EvictExpired(int64_t now_ms) REQUIRES(mu_);

  const int max_failures_;
  const int64_t window_ms_;
  const size_t max_keys_;
  Mutex mu_;
  std::unordered_map<std::string, Entry> entries_ GUARDED_BY(mu_);
};

}  // namespace natter::accounts
