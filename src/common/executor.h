// Where a callback runs. Threads that do blocking work (store readers and
// writers) hand their results back through the Executor their caller gave,
// so what the caller does with a result (JSON, fan-out) runs on the caller's
// thread, never on theirs.
//
// Thread-safety: Post may be called from any thread.
#pragma once

#include <functional>

namespace natter {

class Executor {
 public:
  // Queues `task` to run on this executor's thread. A task that is never run
  // (the executor stopped) is destroyed, so what it holds is released.
  virtual void Post(std::function<void()> task) = 0;

 protected:
  ~Executor() = default;
};

// Runs each task at once, on the thread that posts it: for callers whose
// callbacks only hand a value on (tests waiting on a promise, start-up).
Executor& InlineExecutor();

}  // namespace natter
