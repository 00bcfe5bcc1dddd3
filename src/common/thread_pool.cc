#include "common/thread_pool.h"

#include <pthread.h>

#include "common/guarded.h"
#include "common/request_id.h"

namespace natter {

ThreadPool::ThreadPool(std::string name, int threads, size_t max_queued)
    : name_(std::move(name)), max_queued_(max_queued), thread_count_(static_cast<size_t>(threads)) {
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this] { Run(); });
    pthread_setname_np(threads_.back().native_handle(), name_.substr(0, 15).c_str());
  }
}

ThreadPool::~ThreadPool() { Stop(); }

bool ThreadPool::Submit(std::function<void()> task) {
  // The request this work is for stays in its log lines on the pool's thread.
  if (RequestId request = CurrentRequestId(); !request.empty()) {
    task = [request, task = std::move(task)] {
      ScopedRequestId scope(request);
      task();
    };
  }
  {
    MutexLock lock(mu_);
    if (stopping_ || queue_.size() >= max_queued_) return false;
    queue_.push_back(std::move(task));
    since_.push_back(std::chrono::steady_clock::now());
  }
  cv_.notify_one();
  return true;
}

size_t ThreadPool::Queued() const {
  MutexLock lock(mu_);
  return queue_.size();
}

std::chrono::steady_clock::duration ThreadPool::OldestWait() const {
  MutexLock lock(mu_);
  if (since_.empty()) return {};
  return std::chrono::steady_clock::now() - since_.front();
}

void ThreadPool::StopDiscarding() {
  std::deque<std::function<void()>> dropped;
  {
    MutexLock lock(mu_);
    dropped.swap(queue_);
    since_.clear();
    stopping_ = true;
  }
  dropped.clear();  // outside the lock: a task's captures may take it again
  Stop();
}

void ThreadPool::Stop() {
  {
    MutexLock lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void ThreadPool::Run() {
  for (;;) {
    std::function<void()> task;
    {
      MutexLock lock(mu_);
      lock.Wait(cv_, [this]() REQUIRES(mu_) { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      task = std::move(queue_.front());
      queue_.pop_front();
      since_.pop_front();
    }
    RunCatching(name_, task);
  }
}

}  // namespace natter
