#include "bench/engine.h"

#include <sys/resource.h>

namespace natter::bench {

Engine::Engine(int threads) {
  for (int i = 0; i < std::max(1, threads); ++i) loops_.push_back(std::make_unique<Loop>());
}

Engine::~Engine() { Stop(); }

void Engine::Start() {
  if (running_) return;
  running_ = true;
  for (auto& loop : loops_) {
    loop->guard = std::make_unique<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>(
        loop->ioc.get_executor());
    loop->thread = std::thread([l = loop.get()] { l->ioc.run(); });
  }
}

void Engine::Stop() {
  if (!running_) return;
  running_ = false;
  for (auto& loop : loops_) {
    loop->guard.reset();
    loop->ioc.stop();
  }
  for (auto& loop : loops_) {
    if (loop->thread.joinable()) loop->thread.join();
  }
}

Stats Engine::Collect() {
  Stats all;
  for (auto& loop : loops_) all.Merge(loop->stats);
  return all;
}

double Engine::ProcessCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

}  // namespace natter::bench
