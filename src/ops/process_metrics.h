// The process's own series, with the names Prometheus client libraries use:
// process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds,
// process_threads and process_start_time_seconds.
//
// Read from /proc (memory, no disk) on a thread of their own every couple of
// seconds: a scrape runs on an I/O thread, and counting the descriptors of a
// node holding 100,000 sockets lists a directory of 100,000 entries.
//
// Thread-safety: Render may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "common/mutex.h"

namespace natter::ops {

class ProcessSampler {
 public:
  // `after` (may be empty) runs on the sampler's thread after each sample.
  explicit ProcessSampler(std::chrono::milliseconds period = std::chrono::seconds(2), std::function<void()> after = {});
  ~ProcessSampler();  // stops the thread
  ProcessSampler(const ProcessSampler&) = delete;
  ProcessSampler& operator=(const ProcessSampler&) = delete;

  // The last sample (the first is taken before the constructor returns).
  void Render(std::string& out) const;

 private:
  void Sample();
  void Run(std::chrono::milliseconds period);

  std::atomic<double> cpu_seconds_{0};
  std::atomic<int64_t> resident_bytes_{0};
  std::atomic<int64_t> virtual_bytes_{0};
  std::atomic<int64_t> threads_{0};
  std::atomic<int64_t> open_fds_{0};
  std::atomic<int64_t> max_fds_{0};
  Mutex mu_;
  std::condition_variable cv_;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::function<void()> after_;
  std::thread thread_;
};

}  // namespace natter::ops
