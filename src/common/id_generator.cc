#include "common/id_generator.h"

#include <stdexcept>
#include <string>

namespace natter {
namespace {
constexpr int64_t kEpochMs = 1735689600000;  // 2025-01-01T00:00:00Z
constexpr int kCounterBits = 8;
constexpr int kNodeBits = 4;
}  // namespace

static_assert(IdGenerator::kMaxNodeId == (1 << kNodeBits) - 1);

IdGenerator::IdGenerator(const Clock& clock, int node_id) : clock_(clock), node_id_(node_id) {
  if (!ValidNodeId(node_id)) throw std::invalid_argument("node id " + std::to_string(node_id) + " is not 0-15");
}

int64_t IdGenerator::Next() {
  MutexLock lock(mu_);
  for (;;) {
    int64_t now = clock_.NowMs() - kEpochMs;
    if (now < last_ms_) now = last_ms_;  // never go backwards with the wall clock
    if (now > last_ms_) {
      last_ms_ = now;
      counter_ = 0;
    }
    if (counter_ < (1 << kCounterBits)) {
      int64_t id = (last_ms_ << (kNodeBits + kCounterBits)) | (node_id_ << kCounterBits) | counter_;
      ++counter_;
      return id;
    }
    // 256 ids in one millisecond: borrow the next millisecond rather than wait.
    ++last_ms_;
    counter_ = 0;
  }
}

}  // namespace natter
