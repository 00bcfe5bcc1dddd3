#include "bench/proc_stats.h"

#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "bench/stats.h"

namespace natter::bench {

namespace {

// utime + stime of a /proc/.../stat line, in seconds; false if unreadable or a zombie.
bool ParseStat(const std::string& line, double& cpu, std::string* name) {
  const size_t open = line.find('(');
  const size_t close = line.rfind(')');
  if (open == std::string::npos || close == std::string::npos) return false;
  if (name) *name = line.substr(open + 1, close - open - 1);
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  char state = '?';
  rest >> state;
  if (state == 'Z' || state == 'X') return false;
  for (int i = 4; i <= 13; ++i) rest >> field;
  long long utime = 0, stime = 0;
  rest >> utime >> stime;
  cpu = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  return true;
}

}  // namespace

std::pair<std::string, double> BusiestThread(const ProcSample& start, const ProcSample& end, double seconds) {
  std::pair<std::string, double> best{"", 0};
  for (const auto& t : end.threads) {
    double before = 0;
    for (const auto& b : start.threads)
      if (b.tid == t.tid) before = b.cpu_seconds;
    const double pct = seconds > 0 ? 100.0 * (t.cpu_seconds - before) / seconds : 0;
    if (pct > best.second) best = {t.name + " (tid " + std::to_string(t.tid) + ")", pct};
  }
  return best;
}

ProcSample ReadProc(int pid, bool threads) {
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
  std::ifstream io("/proc/" + std::to_string(pid) + "/io");
  while (std::getline(io, line)) {
    if (line.rfind("write_bytes:", 0) == 0) s.write_bytes = std::stoll(line.substr(12));
  }
  s.alive = true;
  if (threads) {
    const std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(task_dir, ec)) {
      std::ifstream tstat(entry.path() / "stat");
      std::string tline;
      ThreadCpu t;
      if (!std::getline(tstat, tline) || !ParseStat(tline, t.cpu_seconds, &t.name)) continue;
      t.tid = std::atoi(entry.path().filename().c_str());
      s.threads.push_back(std::move(t));
    }
  }
  return s;
}

ProcSample ReadProcs(const std::vector<int>& pids, bool threads) {
  ProcSample all;
  all.at_ns = NowNs();
  all.alive = !pids.empty();
  for (int pid : pids) {
    ProcSample s = ReadProc(pid, threads);
    all.alive = all.alive && s.alive;
    all.cpu_seconds += s.cpu_seconds;
    all.rss_kb += s.rss_kb;
    all.write_bytes += s.write_bytes;
    for (auto& t : s.threads) all.threads.push_back(std::move(t));
  }
  return all;
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
  std::ifstream loadavg("/proc/loadavg");
  loadavg >> m.load_average_1m;
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    m.nofile_soft = static_cast<int64_t>(rl.rlim_cur);
    m.nofile_hard = static_cast<int64_t>(rl.rlim_max);
  }
  return m;
}

}  // namespace natter::bench
