// Unique 53-bit ids for users, sessions and conversations, made without a
// database round trip so that several nodes can create them at once.
// Layout: 41 bits of milliseconds since 2025-01-01, 4 bits of node id, 8 bits of
// counter. 53 bits keep ids exact in JavaScript numbers.
// Thread-safety: Next() may be called from any thread.
#pragma once

#include <cstdint>

#include "common/mutex.h"
#include "natter/clock.h"

namespace natter {

class IdGenerator {
 public:
  // Node ids are 4 bits: 0 to kMaxNodeId. A node id outside that range would
  // make ids another node also makes, so the constructor refuses it
  // (std::invalid_argument); the configuration checks it first.
  static constexpr int kMaxNodeId = 15;
  static bool ValidNodeId(int node_id) { return node_id >= 0 && node_id <= kMaxNodeId; }

  IdGenerator(const Clock& clock, int node_id);
  int64_t Next();

 private:
  const Clock& clock_;
  const int64_t node_id_;
  Mutex mu_;
  int64_t last_ms_ GUARDED_BY(mu_) = 0;
  int64_t counter_ GUARDED_BY(mu_) = 0;
};

}  // namespace natter
