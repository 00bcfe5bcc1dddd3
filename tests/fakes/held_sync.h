// A stand-in for the embedded store's log sync (SqliteOptions::sync_log,
// WalSyncer) that the test lets return one call at a time, with the outcome
// it was made with. A call the test never lets go returns after 10 s, so a
// test that fails while one is held ends instead of hanging its teardown.
#pragma once

#include <chrono>
#include <condition_variable>

#include "common/mutex.h"

namespace natter::testing {

class HeldSync {
 public:
  explicit HeldSync(bool succeeds = true) : succeeds_(succeeds) {}

  bool Sync() {
    MutexLock lock(mu_);
    int mine = ++started_;
    cv_.notify_all();
    (void)lock.WaitFor(cv_, std::chrono::seconds(10), [&]() REQUIRES(mu_) { return finish_up_to_ >= mine; });
    return succeeds_;
  }
  // Waits (at most 10 s) until `n` syncs have begun in all.
  bool WaitStarted(int n) {
    MutexLock lock(mu_);
    return lock.WaitFor(cv_, std::chrono::seconds(10), [&]() REQUIRES(mu_) { return started_ >= n; });
  }
  // Lets the syncs up to the `n`th (counted from the first) return.
  void Finish(int n) {
    MutexLock lock(mu_);
    finish_up_to_ = n;
    cv_.notify_all();
  }
  int Started() {
    MutexLock lock(mu_);
    return started_;
  }

 private:
  const bool succeeds_;
  Mutex mu_;
  std::condition_variable cv_;
  int started_ GUARDED_BY(mu_) = 0;
  int finish_up_to_ GUARDED_BY(mu_) = 0;
};

}  // namespace natter::testing
