// Runs a scenario in several worker processes (fork), because one process
// may hold at most ~20,000 open files here. Workers meet at named barriers:
// at each, the coordinator takes its measurements (server CPU and memory),
// then releases them all with a number (e.g. a rate computed from the phase
// before). At the end each worker sends its Stats as one JSON line, and the
// coordinator merges them. A worker that dies or overruns the deadline is
// killed by pid and reported; the others' results are kept.
//
// Thread-safety: Run() must be called from a process with no other threads
// running (fork copies only the caller). WorkerControl is used by the
// worker's main thread only.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "bench/stats.h"

namespace natter::bench {

// This process's worker index (set in each forked worker), for progress lines.
extern int g_worker_index;

class WorkerControl {
 public:
  WorkerControl(int index, int count, int to_parent, int from_parent)
      : index_(index), count_(count), to_parent_(to_parent), from_parent_(from_parent) {}
  int index() const { return index_; }
  int count() const { return count_; }
  // Waits until every worker reached `name`, handing the coordinator
  // `value` (summed over workers); returns the coordinator's number, or NaN
  // if the coordinator is gone (the worker should finish).
  double Barrier(const std::string& name, double value = 0);

 private:
  int index_;
  int count_;
  int to_parent_;
  int from_parent_;
  std::string pending_;
};

struct BarrierInfo {
  std::string name;
  int64_t at_ns = 0;
  int arrived = 0;
  double sum = 0;                  // of the values the workers brought
  std::vector<double> worker_cpu;  // CPU seconds used so far, per worker
};

struct PoolOutcome {
  Stats merged;
  std::vector<BarrierInfo> barriers;
  std::vector<std::string> failures;       // workers that crashed or timed out
  std::vector<double> worker_cpu_seconds;  // per worker, whole run
};

// Forks `workers` processes running `body`; calls `on_barrier` in the
// coordinator each time all live workers reach a barrier (its result is sent
// to them). Gives up after `deadline_s` seconds.
PoolOutcome RunWorkers(int workers, double deadline_s, const std::function<Stats(WorkerControl&)>& body,
                       const std::function<double(const std::string& name, double sum)>& on_barrier);

}  // namespace natter::bench
