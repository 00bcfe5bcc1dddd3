// Gives the heap's free pages back to the system once a burst of connections
// is over. Opening thousands of sockets at once (a restart's reconnect storm,
// each user told of dozens of contacts coming online) fills every socket's
// queue for a moment; glibc keeps the freed pages between the connections'
// long-lived objects, so without this the process stays as large as the
// storm made it (about a third of its memory per idle connection).
//
// Thread-safety: Tick is called from one thread (the process sampler's).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

namespace natter::ops {

// Keeps up to 8 MiB free at the top of each thread's heap instead of glibc's
// moving threshold. The store writer frees a whole batch's memory at the end
// of every batch; glibc handed those pages back each time (madvise, with its
// TLB shootdowns) and the next batch faulted them in again: 1:1 sends flat out
// were 4-33 % faster in alternating runs without that (docs/benchmarks.md,
// "the store writer's heap"). HeapTrimmer still gives
// everything back after a burst of connections. Called once, at start.
void KeepBatchMemoryInHeaps();

class HeapTrimmer {
 public:
  // `opened`: connections opened since start. `trim` returns whether
  // memory was given back (default: malloc_trim).
  explicit HeapTrimmer(const std::atomic<uint64_t>& opened, uint64_t burst = 1000, std::function<bool()> trim = {});

  // Called every few seconds: trims once when at least `burst` connections
  // opened since the last trim and fewer than 1 % of `burst` since the
  // previous call (the burst is over).
  void Tick();
  int trims() const { return trims_; }

 private:
  const std::atomic<uint64_t>& opened_;
  const uint64_t burst_;
  std::function<bool()> trim_;
  uint64_t at_trim_ = 0;
  uint64_t at_tick_ = 0;
  int trims_ = 0;
};

}  // namespace natter::ops
