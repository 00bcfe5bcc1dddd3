// A value SIGHUP may replace while it is in use (docs/operations.md,
// "Reloading"). A reader takes a snapshot and keeps it for as long as it
// works on one thing, so a request sees one set of numbers from start to end
// even if a reload lands in the middle.
// Thread-safety: Get() and Set() may be called from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <utility>

namespace natter {

template <typename T>
class Reloadable {
 public:
  explicit Reloadable(T initial) : current_(std::make_shared<const T>(std::move(initial))) {}

  std::shared_ptr<const T> Get() const { return current_.load(std::memory_order_acquire); }
  void Set(T fresh) { current_.store(std::make_shared<const T>(std::move(fresh)), std::memory_order_release); }

 private:
  std::atomic<std::shared_ptr<const T>> current_;
};

}  // namespace natter
