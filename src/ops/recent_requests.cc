#include "ops/recent_requests.h"

#include <array>
#include <atomic>

namespace natter::ops {
namespace {

// A signal handler may only read atomics that need no lock.
static_assert(std::atomic<uint64_t>::is_always_lock_free);

std::array<std::atomic<uint64_t>, kRecentRequests> ring_hi{};
std::array<std::atomic<uint64_t>, kRecentRequests> ring_lo{};
std::atomic<uint64_t> recorded{0};  // how many ever: the next slot is recorded % kRecentRequests

}  // namespace

void RecordRecentRequest(RequestId id) {
  uint64_t n = recorded.fetch_add(1, std::memory_order_relaxed);
  ring_hi[n % kRecentRequests].store(id.hi, std::memory_order_relaxed);
  ring_lo[n % kRecentRequests].store(id.lo, std::memory_order_relaxed);
}

size_t NewestRequests(RequestId* out, size_t max) {
  uint64_t n = recorded.load(std::memory_order_relaxed);
  size_t count = 0;
  while (count < max && count < kRecentRequests && count < n) {
    size_t slot = (n - 1 - count) % kRecentRequests;
    out[count] =
        RequestId{ring_hi[slot].load(std::memory_order_relaxed), ring_lo[slot].load(std::memory_order_relaxed)};
    ++count;
  }
  return count;
}

}  // namespace natter::ops
