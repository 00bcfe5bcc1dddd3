#include "bench/worker_pool.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>

#include <boost/json.hpp>

#include "bench/proc_stats.h"

namespace natter::bench {

namespace {

void WriteAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

// Reads one line (without '\n') from fd, keeping extra bytes in `pending`.
bool ReadLine(int fd, std::string& pending, std::string& line) {
  for (;;) {
    const size_t nl = pending.find('\n');
    if (nl != std::string::npos) {
      line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      return true;
    }
    char buf[65536];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    pending.append(buf, static_cast<size_t>(n));
  }
}

struct Child {
  int pid = -1;
  int to_child = -1;
  int from_child = -1;
  std::string pending;
  bool done = false;
  bool at_barrier = false;
  std::string barrier;
  double value = 0;
};

}  // namespace

int g_worker_index = 0;

double WorkerControl::Barrier(const std::string& name, double value) {
  if (to_parent_ < 0) return 0;
  char buf[64];
  std::snprintf(buf, sizeof buf, " %.17g", value);
  WriteAll(to_parent_, "B " + name + buf + "\n");
  std::string line;
  if (!ReadLine(from_parent_, pending_, line) || line.rfind("G ", 0) != 0) return std::nan("");
  return std::strtod(line.c_str() + 2, nullptr);
}

PoolOutcome RunWorkers(int workers, double deadline_s, const std::function<Stats(WorkerControl&)>& body,
                       const std::function<double(const std::string& name, double sum)>& on_barrier) {
  PoolOutcome outcome;
  std::vector<Child> children(workers);
  std::cout.flush();
  std::cerr.flush();
  for (int i = 0; i < workers; ++i) {
    int up[2], down[2];
    if (pipe(up) != 0 || pipe(down) != 0) {
      outcome.failures.push_back("pipe: " + std::string(strerror(errno)));
      children.resize(i);
      break;
    }
    const int pid = fork();
    if (pid == 0) {
      close(up[0]);
      close(down[1]);
      for (int j = 0; j < i; ++j) {
        close(children[j].to_child);
        close(children[j].from_child);
      }
      g_worker_index = i;
      WorkerControl control(i, workers, up[1], down[0]);
      std::string line;
      try {
        Stats stats = body(control);
        line = "R " + boost::json::serialize(stats.ToJson()) + "\n";
      } catch (const std::exception& e) {
        Stats failed;
        failed.Problem("worker " + std::to_string(i) + " failed: " + e.what());
        line = "R " + boost::json::serialize(failed.ToJson()) + "\n";
      }
      WriteAll(up[1], line);
      std::cerr.flush();
      _exit(0);  // no destructors: sockets and threads end with the process
    }
    close(up[1]);
    close(down[0]);
    children[i].pid = pid;
    children[i].to_child = down[1];
    children[i].from_child = up[0];
    if (pid < 0) {
      outcome.failures.push_back("fork: " + std::string(strerror(errno)));
      children[i].done = true;
    }
  }
  outcome.worker_cpu_seconds.assign(children.size(), 0);
  auto sample_cpu = [&] {
    std::vector<double> cpu;
    for (auto& c : children) {
      ProcSample s = ReadProc(c.pid);
      cpu.push_back(s.cpu_seconds);
    }
    return cpu;
  };
  const int64_t deadline = NowNs() + static_cast<int64_t>(deadline_s * 1e9);
  std::vector<double> last_cpu(children.size(), 0);
  for (;;) {
    std::vector<pollfd> fds;
    std::vector<int> index;
    for (size_t i = 0; i < children.size(); ++i) {
      if (children[i].done) continue;
      fds.push_back(pollfd{children[i].from_child, POLLIN, 0});
      index.push_back(static_cast<int>(i));
    }
    if (fds.empty()) break;
    if (NowNs() > deadline) {
      for (int i : index) {
        outcome.failures.push_back("worker " + std::to_string(i) + " overran the " +
                                   std::to_string(static_cast<int>(deadline_s)) + " s deadline; killed");
        kill(children[i].pid, SIGKILL);
        children[i].done = true;
      }
      break;
    }
    // Keep the last CPU reading of each live worker (a dead one cannot be read).
    std::vector<double> now_cpu = sample_cpu();
    for (size_t i = 0; i < now_cpu.size(); ++i)
      if (now_cpu[i] > 0) last_cpu[i] = now_cpu[i];
    int ready = poll(fds.data(), fds.size(), 1000);
    if (ready < 0 && errno != EINTR) break;
    for (size_t k = 0; k < fds.size(); ++k) {
      if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      Child& c = children[index[k]];
      // Lines are read whole; a worker writes each with one write() call or
      // a short sequence, and a result line may be large, so read to '\n'.
      std::string line;
      if (!ReadLine(c.from_child, c.pending, line)) {
        c.done = true;
        outcome.failures.push_back("worker " + std::to_string(index[k]) + " (pid " + std::to_string(c.pid) +
                                   ") ended without a result");
        continue;
      }
      if (line.rfind("B ", 0) == 0) {
        c.at_barrier = true;
        const size_t sp = line.rfind(' ');
        c.barrier = line.substr(2, sp - 2);
        c.value = std::strtod(line.c_str() + sp + 1, nullptr);
      } else if (line.rfind("R ", 0) == 0) {
        c.done = true;
        try {
          outcome.merged.Merge(Stats::FromJson(boost::json::parse(line.substr(2))));
        } catch (const std::exception& e) {
          outcome.failures.push_back("worker " + std::to_string(index[k]) + " sent an unreadable result: " + e.what());
        }
      }
    }
    // Everyone still running is at a barrier: measure, then release them.
    bool all = true, any = false;
    std::string name;
    int arrived = 0;
    double sum = 0;
    for (auto& c : children) {
      if (c.done) continue;
      any = true;
      if (!c.at_barrier)
        all = false;
      else {
        name = c.barrier;
        ++arrived;
        sum += c.value;
      }
    }
    if (any && all) {
      BarrierInfo info;
      info.name = name;
      info.at_ns = NowNs();
      info.arrived = arrived;
      info.worker_cpu = sample_cpu();
      info.sum = sum;
      const double value = on_barrier(name, sum);
      outcome.barriers.push_back(info);
      char buf[64];
      std::snprintf(buf, sizeof buf, "G %.17g\n", value);
      for (auto& c : children) {
        if (c.done) continue;
        c.at_barrier = false;
        WriteAll(c.to_child, buf);
      }
    }
  }
  for (size_t i = 0; i < children.size(); ++i) {
    outcome.worker_cpu_seconds[i] = last_cpu[i];
    if (children[i].pid > 0) {
      int status = 0;
      // Bounded reap: a worker has written its result and is exiting.
      for (int tries = 0; tries < 50; ++tries) {
        if (waitpid(children[i].pid, &status, WNOHANG) != 0) break;
        usleep(100000);
        if (tries == 49) {
          kill(children[i].pid, SIGKILL);
          waitpid(children[i].pid, &status, 0);
        }
      }
    }
    close(children[i].to_child);
    close(children[i].from_child);
  }
  return outcome;
}

}  // namespace natter::bench
