#include "store/commit_order.h"

#include "common/guarded.h"

namespace natter {

struct CommitTurn::Place {
  Place(std::shared_ptr<CommitOrder> o, uint64_t t) : order(std::move(o)), ticket(t) {}
  Place(const Place&) = delete;
  Place& operator=(const Place&) = delete;
  ~Place() {
    if (!taken) order->Take(ticket, nullptr);  // given up
  }

  std::shared_ptr<CommitOrder> order;
  const uint64_t ticket;
  bool taken = false;
};

CommitTurn CommitOrder::Next() {
  return CommitTurn(std::make_shared<CommitTurn::Place>(shared_from_this(), issued_++));
}

void CommitOrder::Take(uint64_t ticket, std::function<void()> step) {
  {
    MutexLock lock(mu_);
    size_t index = static_cast<size_t>(ticket - head_);
    if (taken_.size() <= index) taken_.resize(index + 1);
    taken_[index] = std::move(step);
    if (running_) return;  // the thread running steps will come to it
    running_ = true;
  }
  // Steps run outside the lock: they publish, and may take a while.
  for (;;) {
    std::function<void()> next;
    {
      MutexLock lock(mu_);
      std::optional<std::function<void()>>* front = taken_.empty() ? nullptr : &taken_.front();
      if (front == nullptr || !*front) {
        running_ = false;
        return;
      }
      next = std::move(**front);
      taken_.pop_front();
      ++head_;
    }
    if (next) RunCatching("step in commit order", next);
  }
}

void CommitTurn::Then(std::function<void()> step) const {
  if (!place_) {
    if (step) RunCatching("step in commit order", step);
    return;
  }
  if (place_->taken) return;
  place_->taken = true;
  place_->order->Take(place_->ticket, std::move(step));
}

}  // namespace natter
