// Unique 53-bit ids for users, sessions and conversations, made without a
// database round trip so that several nodes can create them at once.
// Layout: 41 bits of milliseconds since 2025-01-01, 4 bits of node id, 8 bits of
// counter. 53 bits keep ids exact in JavaScript numbers.
// Thread-safety: Next() may be called from any thread.
#pragma once

#include <cstdint>
#include <mutex>

#include "natter/clock.h"

namespace natter {

class IdGenerator {
 public:
  IdGenerator(const Clock& clock, int node_id);
  int64_t Next();

 private:
  const Clock& clock_;
  const int64_t node_id_;
  std::mutex mu_;
  int64_t last_ms_ = 0;
  int64_t counter_ = 0;
};

}  // namespace natter
