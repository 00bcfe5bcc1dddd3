// The push worker: a thread of its own (never an I/O thread) that claims due
// jobs from every partition's push queue, one at a time, works out who gets
// what (push/push_plan.h), sends it through the providers, prunes the device
// tokens they refuse, and finishes or reschedules the job. A claim holds a
// job for a lease, renewed before each round of a large channel and fenced by
// a token: in a cluster each job is one node's (PostgreSQL's SKIP LOCKED), and
// a node that dies mid-job loses it when the lease ends; another sends it
// then, skipping the members already recorded as alerted. A second thread,
// the keeper, renews the lease of the job under way and marks the node as
// running (a heartbeat, so live connections held by a node that is gone stop
// counting) every few seconds, however long a provider takes.
//
// Thread-safety: Start and Stop from one thread; the rest is internal.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>
#include <vector>

#include "natter/clock.h"
#include "ops/metrics.h"
#include "push/push_plan.h"
#include "push/push_providers.h"
#include "store/store.h"
#include "store/store_waits.h"

namespace natter::push {

struct PushWorkerOptions {
  int node_id = 0;
  int64_t delay_ms = 3000;       // what waits after a job for the messages that came during it
  int64_t poll_ms = 200;         // how often an idle worker looks for due jobs
  int64_t lease_ms = 60000;      // how long a claim holds a job without renewal
  int64_t heartbeat_ms = 5000;   // how often the keeper renews the lease and says the node runs
  int64_t node_gone_ms = 30000;  // a node unseen this long holds no live connection
  int members_per_round = 500;   // a large channel's devices are read and sent in rounds of this many members
  int max_attempts = 8;          // then a job that keeps failing is dropped (logged)
};

class PushWorker {
 public:
  PushWorker(Store& store, PushProviders& providers, const Clock& clock, ops::Metrics& metrics,
             PushWorkerOptions options);
  ~PushWorker();

  // `each_heartbeat` (may be empty) runs on the keeper thread at every
  // heartbeat: what must be tried again now and then (a liveness write that failed).
  void Start(std::function<void()> each_heartbeat = {});
  // Ends the threads and tells the store this node's worker is gone. A job
  // under way is abandoned: its lease ends and it is sent again, to whoever
  // was not yet recorded as alerted.
  void Stop();

 private:
  void Run();
  // Claims and works through one due job per partition; whether there were any.
  bool RunOnce();
  void Process(int partition, const PushJob& job);
  // The job's retry time (0: done), or nullopt when its claim was lost.
  std::optional<int64_t> SendMessages(int partition, const PushJob& job);
  int64_t SendClear(const PushJob& job);
  // Sends `items`, prunes refused tokens; returns the retry time (0: none).
  // `alerted`: the users an alert reached, on any of their devices (a device
  // that must wait gets the next alert instead: the user has seen this one).
  int64_t Deliver(const std::vector<Outgoing>& items, int attempts, std::unordered_map<UserId, bool>* alerted);
  Result<std::unordered_map<UserId, int64_t>> Unread(std::vector<UserId> users);
  // Nodes seen running lately (a bit each), this one always.
  int64_t AliveNodes();
  // The keeper: heartbeats, the lease of the job under way, old live state pruned.
  void Keep(std::function<void()> each_heartbeat);
  void Heartbeat(int64_t now);
  // Whether the job under way lost its claim (its lease ran out under another worker).
  bool ClaimLost();
  void RecordQueueState();
  bool Stopping();

  Store& store_;
  PushProviders& providers_;
  const Clock& clock_;
  ops::Metrics& metrics_;
  const PushWorkerOptions options_;
  std::mt19937_64 claims_{std::random_device{}()};  // claim tokens
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;  // one: HTTP/2 multiplexing gives it the concurrency
  std::thread keeper_;
  // The job under way (its partition), for the keeper to renew; set by the worker.
  std::optional<std::pair<int, PushJob>> current_;
  bool claim_lost_ = false;
  int64_t last_queue_check_ms_ = 0;
};

}  // namespace natter::push
