// The boundary of every thread loop (store readers and writers, the broker's
// control thread, pools, I/O workers, the client thread): a bug that throws
// is logged with where it happened, and the thread lives on to serve the
// rest, instead of std::terminate taking the process down.
//
// Thread-safety: callable from any thread.
#pragma once

#include <exception>
#include <string_view>
#include <utility>

namespace natter {

// Logs an exception that escaped `where` (nullptr: not a std::exception).
void LogEscaped(std::string_view where, const std::exception* e) noexcept;

// Runs `fn()`; true if it returned, false if it threw (and was logged).
template <class Fn>
bool RunCatching(std::string_view where, Fn&& fn) noexcept {
  try {
    std::forward<Fn>(fn)();
    return true;
  } catch (const std::exception& e) {
    LogEscaped(where, &e);
  } catch (...) {
    LogEscaped(where, nullptr);
  }
  return false;
}

}  // namespace natter
