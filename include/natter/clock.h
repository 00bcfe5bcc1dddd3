// Time as a seam: production reads the system's clocks, tests set them by hand.
// NowMs is wall time (what is stored, shown and signed: last-seen, token
// expiry); SteadyMs only moves forward, whatever is done to the wall clock,
// and is what every timeout counts with.
// Thread-safety: implementations must be safe to call from any thread.
#pragma once

#include <atomic>
#include <cstdint>

namespace natter {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMs() const = 0;
  int64_t NowSeconds() const { return NowMs() / 1000; }
  // Milliseconds from an arbitrary start; never goes back.
  virtual int64_t SteadyMs() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowMs() const override;
  int64_t SteadyMs() const override;
};

// A clock that moves only when told to; for tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms) : now_(start_ms) {}
  int64_t NowMs() const override { return now_.load(); }
  int64_t SteadyMs() const override { return steady_.load(); }
  // Time passes: both clocks move (the wall clock only, when `ms` < 0).
  void Advance(int64_t ms) {
    now_ += ms;
    if (ms > 0) steady_ += ms;
  }
  // Someone sets the wall clock: the steady clock does not move.
  void JumpWallClock(int64_t ms) { now_ += ms; }

 private:
  std::atomic<int64_t> now_;
  std::atomic<int64_t> steady_{0};
};

}  // namespace natter
