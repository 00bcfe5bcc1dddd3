// A mutex that Clang's thread-safety analysis understands, so that which lock
// guards which member is written in the type (GUARDED_BY) and checked at
// compile time (-Wthread-safety, in the clang build), not only in comments.
// With other compilers the annotations are empty and this is std::mutex.
//
// Thread-safety: as std::mutex.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define NATTER_TSA(x) __attribute__((x))
#else
#define NATTER_TSA(x)
#endif

#define CAPABILITY(x) NATTER_TSA(capability(x))
#define SCOPED_CAPABILITY NATTER_TSA(scoped_lockable)
#define GUARDED_BY(x) NATTER_TSA(guarded_by(x))
#define REQUIRES(...) NATTER_TSA(requires_capability(__VA_ARGS__))
#define ACQUIRE(...) NATTER_TSA(acquire_capability(__VA_ARGS__))
#define RELEASE(...) NATTER_TSA(release_capability(__VA_ARGS__))
#define EXCLUDES(...) NATTER_TSA(locks_excluded(__VA_ARGS__))
#define NO_THREAD_SAFETY_ANALYSIS NATTER_TSA(no_thread_safety_analysis)

namespace natter {

class CAPABILITY("mutex") Mutex {
 public:
  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }

 private:
  friend class MutexLock;
  std::mutex mu_;
};

// Holds a Mutex for its scope; can wait on a condition variable, which
// releases the mutex while it sleeps and holds it again on return.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : lock_(mu.mu_) {}
  ~MutexLock() RELEASE() {}
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  // Releases the mutex before the scope ends (it is not taken again).
  void Unlock() RELEASE() { lock_.unlock(); }

  // Waits until `done()` is true; `done` runs with the mutex held.
  template <class Done>
  void Wait(std::condition_variable& cv, Done done) {
    cv.wait(lock_, done);
  }
  // As Wait, giving up at `deadline`; returns done().
  template <class Done>
  bool WaitUntil(std::condition_variable& cv, std::chrono::steady_clock::time_point deadline, Done done) {
    return cv.wait_until(lock_, deadline, done);
  }
  template <class Rep, class Period, class Done>
  bool WaitFor(std::condition_variable& cv, std::chrono::duration<Rep, Period> timeout, Done done) {
    return cv.wait_for(lock_, timeout, done);
  }

 private:
  std::unique_lock<std::mutex> lock_;
};

}  // namespace natter
