// Limits login attempts per account and per client address, so passwords
// cannot be guessed at speed. An attempt is reserved before its password is
// checked and counts until it ends: a key whose failures plus attempts in
// progress reach `max_failures` within `window_ms` is refused, so a burst of
// simultaneous guesses gets no more checks than a sequence would.
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
  // Which keys an attempt holds (a key is not held when the table is full:
  // bounded memory beats perfect accounting).
  struct Reservation {
    bool account = false;
    bool address = false;
  };

  enum class Outcome { kFailed, kSucceeded, kUndecided /* not checked: storage failed, queue full */ };

  LoginThrottle(int max_failures, int64_t window_ms, size_t max_keys = 100000);

  // Reserves an attempt on both keys, or on neither: false when either has
  // no attempt left in its window.
  bool Reserve(const std::string& account, const std::string& address, int64_t now_ms, Reservation& held);
  // Ends an attempt. A failure counts against both keys; a success clears the
  // account's failures (the address keeps its count).
  void Finish(const std::string& account, const std::string& address, const Reservation& held, Outcome outcome,
              int64_t now_ms);
  // A reload: the failures already counted stay and are held to the new number.
  void SetMaxFailures(int max_failures);

 private:
  struct Entry {
    int failures = 0;
    int in_flight = 0;
    int64_t window_start = 0;
  };
  // The key's entry with an expired window reset; null when it has none.
  Entry* Find(const std::string& key, int64_t now_ms) REQUIRES(mu_);
  bool Hold(const std::string& key, int64_t now_ms) REQUIRES(mu_);
  void Release(const std::string& key, bool failed, bool clear, int64_t now_ms) REQUIRES(mu_);
  void EvictIdle(int64_t now_ms) REQUIRES(mu_);

  Mutex mu_;
  int max_failures_ GUARDED_BY(mu_);
  const int64_t window_ms_;
  const size_t max_keys_;
  std::unordered_map<std::string, Entry> entries_ GUARDED_BY(mu_);
};

}  // namespace natter::accounts
