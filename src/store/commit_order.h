// Commit order across threads. A writer commits one conversation's writes in
// order, but hands each result to its caller's thread, and those threads run
// side by side: without more, the events of seq 5 (answered on one worker)
// could be published after those of seq 6 (answered on another). So each
// completed write carries a CommitTurn, and what must follow commit order (the
// publishing of its events) runs through it: in the order the writer
// committed, whichever thread gets there first.
//
// Thread-safety: a CommitOrder is shared by one writer (Next) and any number
// of threads holding turns; the copies of a CommitTurn by one thread at a time.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include "common/mutex.h"

namespace natter {

class CommitTurn;

// The order of one writer's commits.
class CommitOrder : public std::enable_shared_from_this<CommitOrder> {
 public:
  // The next commit's turn. Called by the writer thread only, in commit order.
  CommitTurn Next();

  // Turn `ticket` is taken with `step` (empty: given up). Runs every step
  // whose earlier turns are all taken, unless another thread already is.
  // Called through CommitTurn.
  void Take(uint64_t ticket, std::function<void()> step);

 private:
  uint64_t issued_ = 0;  // writer thread only
  Mutex mu_;
  uint64_t head_ GUARDED_BY(mu_) = 0;  // the oldest turn not yet run
  // Turns from head_ on: a step once taken, empty until then.
  std::deque<std::optional<std::function<void()>>> taken_ GUARDED_BY(mu_);
  bool running_ GUARDED_BY(mu_) = false;
};

// One commit's place in its writer's order. Copies share the place; once
// the last copy is gone without Then(), the turn is given up, so the commits
// after it are not held back.
class CommitTurn {
 public:
  CommitTurn() = default;  // outside any order (a write refused before it was queued)

  // Runs `step` once every earlier commit of the same writer has run its
  // step or given its turn up: at once on this thread, or later on the thread
  // that takes the last earlier turn. `step` must own what it uses. Only the
  // first call counts.
  void Then(std::function<void()> step) const;

 private:
  friend class CommitOrder;
  struct Place;
  explicit CommitTurn(std::shared_ptr<Place> place) : place_(std::move(place)) {}

  std::shared_ptr<Place> place_;
};

}  // namespace natter
