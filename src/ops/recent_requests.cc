#include "ops/recent_requests.h"

#include <array>
#include <atomic>

namespace natter::ops {
namespace {

// A signal handler may only read atomics that need no lock.
static_assert(std::atomic<uint64_t>::is_always_lock_free);

std::array<std::atomic<uint64_t>, kRecentRequests> ring{};
std::atomic<uint64_t> recorded{0};  // how many ever: the next slot is recorded % kRecentRequests

}  // namespace

void RecordRecentRequest(uint64_t id) {
  uint64_t n = recorded.fetch_add(1, std::memory_order_relaxed);
  ring[n % kRecentRequests].store(id, std::memory_order_relaxed);
}

size_t NewestRequests(uint64_t* out, size_t max) {
  uint64_t n = recorded.load(std::memory_order_relaxed);
  size_t count = 0;
  while (count < max && count < kRecentRequests && count < n) {
    out[count] = ring[(n - 1 - count) % kRecentRequests].load(std::memory_order_relaxed);
    ++count;
  }
  return count;
}

}  // namespace natter::ops
