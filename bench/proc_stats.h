// Readings from /proc about another process (the server, or a worker): CPU
// time used and resident memory. Reading /proc is cheap and needs no
// cooperation from the process being measured.
//
// Thread-safety: pure functions, safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace natter::bench {

struct ThreadCpu {
  int tid = 0;
  std::string name;  // comm
  double cpu_seconds = 0;
};

struct ProcSample {
  bool alive = false;
  std::vector<ThreadCpu> threads;  // per thread (/proc/<pid>/task), to name a saturated one
  double cpu_seconds = 0;          // utime + stime
  int64_t rss_kb = 0;              // VmRSS
  int64_t write_bytes = 0;         // sent to storage so far (/proc/<pid>/io), sockets not counted
  int64_t at_ns = 0;               // when it was read (CLOCK_MONOTONIC)
};

// `threads`: also read every thread's CPU time.
ProcSample ReadProc(int pid, bool threads = false);
// Several processes as one (a cluster on this machine): CPU and memory
// summed, threads concatenated; alive only if every one is.
ProcSample ReadProcs(const std::vector<int>& pids, bool threads = false);

// The thread that used the most CPU between two samples: its name and the
// share of one core it used over `seconds`.
std::pair<std::string, double> BusiestThread(const ProcSample& start, const ProcSample& end, double seconds);

struct MachineInfo {
  int nproc = 0;
  int64_t mem_total_kb = 0;
  std::string kernel;
  std::string cpu_model;
  int64_t nofile_soft = 0;
  int64_t nofile_hard = 0;
  double load_average_1m = 0;  // other work competing for the same cores
};

MachineInfo ReadMachine();

}  // namespace natter::bench
