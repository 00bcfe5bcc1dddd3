#include "ops/process_metrics.h"

#include <fmt/format.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <vector>

#include "common/guarded.h"

namespace natter::ops {
namespace {

struct ProcStat {
  double cpu_seconds = 0;
  int64_t threads = 0;
  int64_t virtual_bytes = 0;
  int64_t resident_bytes = 0;
  bool ok = false;
};

ProcStat ReadProcStat() {
  ProcStat s;
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return s;
  // The command name (field 2) is in parentheses and may hold spaces: the
  // fields counted from 3 start after its last ')'.
  size_t close = line.rfind(')');
  if (close == std::string::npos) return s;
  std::istringstream rest(line.substr(close + 2));
  std::vector<std::string> f;
  for (std::string field; rest >> field;) f.push_back(field);
  // f[0] is field 3 (state): utime 14, stime 15, num_threads 20, vsize 23, rss 24.
  if (f.size() < 22) return s;
  double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  s.cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / ticks;
  s.threads = std::stoll(f[17]);
  s.virtual_bytes = std::stoll(f[20]);
  s.resident_bytes = std::stoll(f[21]) * sysconf(_SC_PAGESIZE);
  s.ok = true;
  return s;
}

int64_t CountOpenFds() {
  std::error_code ec;
  int64_t n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) ++n;
  return n > 0 ? n - 1 : 0;  // less the one listing the directory
}

// When this process started: the first scrape is later than that, so it is
// taken when the library is loaded, before main.
const double kStartSeconds = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();

void Gauge(std::string& out, std::string_view name, std::string_view help, std::string_view type, double value) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
}

}  // namespace

ProcessSampler::ProcessSampler(std::chrono::milliseconds period, std::function<void()> after)
    : after_(std::move(after)) {
  Sample();
  thread_ = std::thread([this, period] { Run(period); });
}

ProcessSampler::~ProcessSampler() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void ProcessSampler::Run(std::chrono::milliseconds period) {
  pthread_setname_np(pthread_self(), "process-stats");
  for (;;) {
    {
      MutexLock lock(mu_);
      if (lock.WaitFor(cv_, period, [this]() REQUIRES(mu_) { return stopping_; })) return;
    }
    // A thread of its own: nothing may escape it (std::terminate).
    RunCatching("process-stats", [this] {
      Sample();
      if (after_) after_();
    });
  }
}

void ProcessSampler::Sample() {
  ProcStat s = ReadProcStat();
  if (s.ok) {
    cpu_seconds_.store(s.cpu_seconds, std::memory_order_relaxed);
    resident_bytes_.store(s.resident_bytes, std::memory_order_relaxed);
    virtual_bytes_.store(s.virtual_bytes, std::memory_order_relaxed);
    threads_.store(s.threads, std::memory_order_relaxed);
  }
  open_fds_.store(CountOpenFds(), std::memory_order_relaxed);
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) max_fds_.store(static_cast<int64_t>(limit.rlim_cur));
}

void ProcessSampler::Render(std::string& out) const {
  auto as_double = [](const std::atomic<int64_t>& v) { return static_cast<double>(v.load(std::memory_order_relaxed)); };
  Gauge(out, "process_cpu_seconds_total", "User and system CPU time spent, in seconds.", "counter",
        cpu_seconds_.load(std::memory_order_relaxed));
  Gauge(out, "process_resident_memory_bytes", "Resident memory size in bytes.", "gauge", as_double(resident_bytes_));
  Gauge(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge", as_double(virtual_bytes_));
  Gauge(out, "process_threads", "Threads of the process.", "gauge", as_double(threads_));
  Gauge(out, "process_open_fds", "Open file descriptors (sockets included).", "gauge", as_double(open_fds_));
  Gauge(out, "process_max_fds", "The most file descriptors the process may open.", "gauge", as_double(max_fds_));
  Gauge(out, "process_start_time_seconds", "When the process started, in seconds since the Unix epoch.", "gauge",
        kStartSeconds);
}

}  // namespace natter::ops
