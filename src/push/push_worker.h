// The push worker: a thread of its own (never an I/O thread) that claims due
// jobs from every partition's push queue, work out who gets what
// (push/push_plan.h), send it through the providers, prune the device tokens
// they refuse, and finish or reschedule each job. A job is claimed for a lease
// (in a cluster, PostgreSQL's SKIP LOCKED gives each job to one node); a
// node that dies mid-job loses the claim when the lease ends and another
// sends it, skipping the members already recorded as alerted.
//
// Thread-safety: Start and Stop from one thread; the rest is internal.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "natter/clock.h"
#include "ops/metrics.h"
#include "push/push_plan.h"
#include "push/push_providers.h"
#include "push/push_triggers.h"
#include "store/store.h"
#include "store/store_waits.h"

namespace natter::push {

struct PushWorkerOptions {
  int64_t poll_ms = 200;        // how often an idle worker looks for due jobs
  int64_t lease_ms = 60000;     // how long a claimed job is this worker's
  int claim_batch = 16;         // jobs claimed at once per partition
  int members_per_round = 500;  // a large channel's members are sent in rounds of this many
  int max_attempts = 8;         // then a job that keeps failing is dropped (logged)
};

class PushWorker {
 public:
  PushWorker(Store& store, PushProviders& providers, const Clock& clock, ops::Metrics& metrics,
             PushWorkerOptions options);
  ~PushWorker();

  void Start();
  // Ends the threads; a job under way is abandoned (its lease runs out and it
  // is sent again, to whoever was not yet recorded as alerted).
  void Stop();

 private:
  void Run();
  // Claims and works through due jobs; whether there were any.
  bool RunOnce();
  void Process(int partition, const PushJob& job);
  // Returns the job's retry time (0: done).
  int64_t SendMessages(int partition, const PushJob& job);
  int64_t SendClear(const PushJob& job);
  // Sends `items`, prunes refused tokens; returns the retry time (0: none)
  // and marks in `alerted` the users an alert reached.
  int64_t Deliver(const std::vector<Outgoing>& items, int attempts, std::unordered_map<UserId, bool>* alerted);
  Result<std::unordered_map<UserId, int64_t>> Unread(const std::vector<UserId>& users);
  void RecordQueueState();
  bool Stopping();

  Store& store_;
  PushProviders& providers_;
  const Clock& clock_;
  ops::Metrics& metrics_;
  const PushWorkerOptions options_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;  // one: HTTP/2 multiplexing gives it the concurrency
  int64_t last_queue_check_ms_ = 0;
};

}  // namespace natter::push
