// Crash reports. On SIGSEGV, SIGABRT, SIGBUS, SIGFPE or SIGILL (whether the
// fault is the process's own or the signal was sent to it) a handler writes
// <dir>/crash-<start time>-<pid>.new: the signal, the time, the uptime, the
// version, the thread, the newest request ids (ops/recent_requests.h) and a
// backtrace. Then it puts the default action back and raises the signal
// again, so the process dies of it as it would have, core dump included. The
// next start logs the report and keeps it (ops/crash_report_review.h).
//
// The handler allocates nothing and takes no lock: open, write, fsync, close,
// clock_gettime, and backtrace(), which is loaded and run once at install so
// that in the handler it only walks the stack. Everything else it writes (the
// file's name, the version) is made at install.
#pragma once

#include <string>

namespace natter::ops {

inline constexpr char kCrashReportPrefix[] = "crash-";
inline constexpr char kNewCrashReportSuffix[] = ".new";  // written, not yet seen by a start
inline constexpr char kCrashReportSuffix[] = ".txt";     // seen, logged, kept

// Installs the handlers for the whole process; once, early in main. Makes
// `dir` (0700) when missing; its parent should exist. `version` must live as
// long as the process. Gives the calling thread a signal stack (below).
// Throws std::runtime_error when `dir` cannot be made.
void InstallCrashReporter(const std::string& dir, const char* version);

// Gives the calling thread a signal stack of its own, so that a stack
// overflow in it still gets its report (otherwise the handler would need the
// very stack that ran out, and the kernel kills the process without one).
// Each thread needs its own: the main thread gets one at install; the
// gateway's workers, which parse what clients send, call this as they start.
// Idempotent; released when the thread ends.
void UseCrashStackOnThisThread();

}  // namespace natter::ops
