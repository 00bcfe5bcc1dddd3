#include "ops/crash_report.h"

#include <execinfo.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <stdexcept>

#include "common/private_files.h"
#include "ops/recent_requests.h"
#include "ops/signal_safe_text.h"

namespace natter::ops {
namespace {

constexpr int kFatalSignals[] = {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL};
// Room for the handler, backtrace()'s unwinder and backtrace_symbols_fd().
constexpr size_t kSignalStackBytes = 64 * 1024;
constexpr int kMaxFrames = 64;
// A second thread that crashes while the first writes its report waits this
// long for it to end the process.
constexpr int kWaitForOtherReportMs = 5000;

// What the handler uses, made at install: static storage, so the handler
// needs no stack for it and allocates nothing.
struct Reporter {
  char path[4096];
  char about[512];  // version, pid, start time
  timespec started{};
  std::atomic<pid_t> writer{0};  // the thread writing the report
  void* frames[kMaxFrames];
  char text[4096];
};
Reporter reporter;

void WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data += n;
    size -= static_cast<size_t>(n);
  }
}

bool IsFault(int signo) { return signo == SIGSEGV || signo == SIGBUS || signo == SIGFPE || signo == SIGILL; }

void Describe(SignalSafeText& t, int signo, const siginfo_t* info) {
  t.Str("natterd crash report\n");
  t.Str("signal: ").Str(SignalName(signo)).Str(" (").Int(signo).Str(")\n");
  if (info && info->si_code <= 0) {
    // kill(), tgkill(), raise(), abort(): sent, not a fault of the code running.
    t.Str("sent by: pid ").Int(info->si_pid).Str(" (si_code ").Int(info->si_code).Str(")\n");
  } else if (info && IsFault(signo)) {
    t.Str("fault address: ").Hex(reinterpret_cast<uintptr_t>(info->si_addr));
    t.Str(" (si_code ").Int(info->si_code).Str(")\n");
  }
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  t.Str("time: ").UtcTime(now).Str("\n");
  timespec mono{};
  clock_gettime(CLOCK_MONOTONIC, &mono);
  int64_t up_ms = (mono.tv_sec - reporter.started.tv_sec) * 1000 + (mono.tv_nsec - reporter.started.tv_nsec) / 1000000;
  t.Str("uptime: ").Seconds(up_ms).Str("\n");
  t.Str(reporter.about);
  char thread_name[17] = {};
  (void)prctl(PR_GET_NAME, thread_name);
  t.Str("thread: ").Int(gettid()).Str(" (").Str(thread_name).Str(")\n");
  RequestId ids[kRecentRequests];
  size_t count = NewestRequests(ids, kRecentRequests);
  t.Str("recent request ids (newest first):");
  if (count == 0) t.Str(" none recorded");
  for (size_t i = 0; i < count; ++i) t.Str(" ").HexDigits(ids[i].hi, 16).HexDigits(ids[i].lo, 16);
  t.Str("\nbacktrace:\n");
}

void WriteReport(int signo, const siginfo_t* info) {
  SignalSafeText t(reporter.text, sizeof reporter.text);
  Describe(t, signo, info);
  int fd = ::open(reporter.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  // No file (a full disk, a removed directory): the report goes to stderr, the journal.
  int out = fd >= 0 ? fd : STDERR_FILENO;
  WriteAll(out, t.data(), t.size());
  int frames = backtrace(reporter.frames, kMaxFrames);
  backtrace_symbols_fd(reporter.frames, frames, out);
  if (fd >= 0) {
    (void)::fsync(fd);
    ::close(fd);
    char note[4096 + 128];
    SignalSafeText line(note, sizeof note);
    line.Str("natterd: ").Str(SignalName(signo)).Str("; crash report in ").Str(reporter.path).Str("\n");
    WriteAll(STDERR_FILENO, line.data(), line.size());
  }
}

// Back to the default action, and the signal again: blocked while this
// handler runs, it arrives as the handler returns (a fault happens again
// anyway) and ends the process as if no handler had been there.
void DieOf(int signo) {
  struct sigaction fallback {};
  fallback.sa_handler = SIG_DFL;
  sigemptyset(&fallback.sa_mask);
  sigaction(signo, &fallback, nullptr);
  raise(signo);
}

void OnFatalSignal(int signo, siginfo_t* info, void*) {
  int saved_errno = errno;
  pid_t self = gettid();
  pid_t none = 0;
  if (reporter.writer.compare_exchange_strong(none, self)) {
    WriteReport(signo, info);
  } else if (none != self) {
    timespec pause{0, 10 * 1000 * 1000};
    for (int waited = 0; waited < kWaitForOtherReportMs; waited += 10) nanosleep(&pause, nullptr);
  }
  // (The same thread again: its report failed half-way; it dies at once.)
  DieOf(signo);
  errno = saved_errno;
}

// A mapping with a guard page below it: a handler that overflows its own
// stack faults instead of writing over whatever lies there.
class SignalStack {
 public:
  SignalStack() {
    size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    size_ = kSignalStackBytes + page;
    void* base = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) return;
    base_ = base;
    (void)mprotect(base_, page, PROT_NONE);
    stack_t stack{};
    stack.ss_sp = static_cast<char*>(base_) + page;
    stack.ss_size = kSignalStackBytes;
    (void)sigaltstack(&stack, nullptr);
  }
  ~SignalStack() {
    if (!base_) return;
    stack_t off{};
    off.ss_flags = SS_DISABLE;
    (void)sigaltstack(&off, nullptr);
    munmap(base_, size_);
  }
  SignalStack(const SignalStack&) = delete;
  SignalStack& operator=(const SignalStack&) = delete;

 private:
  void* base_ = nullptr;
  size_t size_ = 0;
};

}  // namespace

void UseCrashStackOnThisThread() {
  thread_local SignalStack stack;
  (void)stack;
}

void InstallCrashReporter(const std::string& dir, const char* version) {
  try {
    MakePrivateDirectory(dir);
  } catch (const std::exception& e) {
    throw std::runtime_error("crash reports: cannot make " + dir + ": " + e.what());
  }
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  clock_gettime(CLOCK_MONOTONIC, &reporter.started);
  SignalSafeText path(reporter.path, sizeof reporter.path);
  path.Str(dir.c_str()).Str("/").Str(kCrashReportPrefix).FileStamp(now).Str("-").Int(getpid());
  path.Str(kNewCrashReportSuffix);
  if (path.cut()) throw std::runtime_error("crash reports: the directory's name is too long: " + dir);
  SignalSafeText about(reporter.about, sizeof reporter.about);
  about.Str("version: ").Str(version).Str("\npid: ").Int(getpid()).Str("\nstarted: ").UtcTime(now).Str("\n");

  // The first backtrace() loads libgcc's unwinder (dlopen, malloc): done
  // here, so the handler's only walks the stack.
  void* warm_up[4];
  (void)backtrace(warm_up, 4);
  UseCrashStackOnThisThread();

  struct sigaction action {};
  action.sa_sigaction = OnFatalSignal;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  for (int signo : kFatalSignals) sigaction(signo, &action, nullptr);
}

}  // namespace natter::ops
