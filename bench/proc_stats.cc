#include "bench/proc_stats.h"

#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "bench/stats.h"

namespace natter::bench {

ProcSample ReadProc(int pid) {
  ProcSample s;
  s.at_ns = NowNs();
  if (pid <= 0) return s;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return s;
  // The command name may hold spaces; fields are counted after its ')'.
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return s;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  char state = '?';
  rest >> state;
  if (state == 'Z' || state == 'X') return s;  // exited, not yet reaped
  // Fields 4..13 follow the state; utime and stime are fields 14 and 15.
  for (int i = 4; i <= 13; ++i) rest >> field;
  long long utime = 0, stime = 0;
  rest >> utime >> stime;
  s.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) s.rss_kb = std::stoll(line.substr(6));
  }
  s.alive = true;
  return s;
}

MachineInfo ReadMachine() {
  MachineInfo m;
  m.nproc = static_cast<int>(std::thread::hardware_concurrency());
  std::ifstream meminfo("/proc/meminfo");
  std::string line;
  while (std::getline(meminfo, line)) {
    if (line.rfind("MemTotal:", 0) == 0) m.mem_total_kb = std::stoll(line.substr(9));
  }
  std::ifstream cpuinfo("/proc/cpuinfo");
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      m.cpu_model = line.substr(line.find(':') + 2);
      break;
    }
  }
  utsname u{};
  if (uname(&u) == 0) m.kernel = std::string(u.sysname) + " " + u.release;
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    m.nofile_soft = static_cast<int64_t>(rl.rlim_cur);
    m.nofile_hard = static_cast<int64_t>(rl.rlim_max);
  }
  return m;
}

}  // namespace natter::bench
