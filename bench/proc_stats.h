// Readings from /proc about another process (the server, or a worker): CPU
// time used and resident memory. Reading /proc is cheap and needs no
// cooperation from the process being measured.
//
// Thread-safety: pure functions, safe from any thread.
#pragma once

#include <cstdint>
#include <string>

namespace natter::bench {

struct ProcSample {
  bool alive = false;
  double cpu_seconds = 0;  // utime + stime
  int64_t rss_kb = 0;      // VmRSS
  int64_t at_ns = 0;       // when it was read (CLOCK_MONOTONIC)
};

ProcSample ReadProc(int pid);

struct MachineInfo {
  int nproc = 0;
  int64_t mem_total_kb = 0;
  std::string kernel;
  std::string cpu_model;
  int64_t nofile_soft = 0;
  int64_t nofile_hard = 0;
};

MachineInfo ReadMachine();

}  // namespace natter::bench
