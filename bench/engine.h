// The event loops of one worker process: one io_context per thread (one per
// core by default), each with its own Stats. A simulated client is pinned to
// one loop for its whole life, so nothing it touches needs a lock.
//
// Thread-safety: io()/post are safe from any thread; stats(i) only from loop
// i's thread while running, or from any thread after Stop().
#pragma once

#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "bench/stats.h"

namespace natter::bench {

class Engine {
 public:
  explicit Engine(int threads);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  int threads() const { return static_cast<int>(loops_.size()); }
  boost::asio::io_context& io(int i) { return loops_[i]->ioc; }
  Stats& stats(int i) { return loops_[i]->stats; }

  void Start();
  void Stop();  // joins the threads; pending handlers are dropped
  // Merges every loop's stats (after Stop()).
  Stats Collect();
  // CPU seconds this process has used (all threads).
  static double ProcessCpuSeconds();

 private:
  struct Loop {
    boost::asio::io_context ioc{1};
    std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guard;
    Stats stats;
    std::thread thread;
  };
  std::vector<std::unique_ptr<Loop>> loops_;
  bool running_ = false;
};

}  // namespace natter::bench
