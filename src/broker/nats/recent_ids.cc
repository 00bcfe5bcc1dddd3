#include "broker/nats/recent_ids.h"

namespace natter::nats {

RecentIds::RecentIds(size_t capacity) : capacity_(capacity > 0 ? capacity : 1) {
  ring_.reserve(capacity_);
  ids_.reserve(capacity_);
}

bool RecentIds::Insert(uint64_t id) {
  if (!ids_.insert(id).second) return false;
  if (ring_.size() < capacity_) {
    ring_.push_back(id);
    return true;
  }
  ids_.erase(ring_[next_]);
  ring_[next_] = id;
  next_ = (next_ + 1) % ring_.size();
  return true;
}

}  // namespace natter::nats
