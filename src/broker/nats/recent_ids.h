// The last N event ids a node received, to drop the copies of one event that
// arrive on several subjects. Copies arrive within moments of each other, so
// a short window suffices and memory stays fixed.
//
// Not thread-safe: the broker guards it with its own mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_set>
#include <vector>

namespace natter::nats {

class RecentIds {
 public:
  explicit RecentIds(size_t capacity);

  // True if `id` is not among the last `capacity` ids inserted (and records
  // it); false for a duplicate.
  bool Insert(uint64_t id);

 private:
  size_t capacity_;
  std::vector<uint64_t> ring_;  // once full, the oldest is at next_
  size_t next_ = 0;
  std::unordered_set<uint64_t> ids_;
};

}  // namespace natter::nats
