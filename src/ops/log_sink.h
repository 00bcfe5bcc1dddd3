// Where log lines go: stdout, written by a thread of its own, so a reader
// that stops reading (a full pipe, a stalled journald or collector) holds up
// that thread and never an I/O thread. Each line is formatted on the thread
// that logs it (the request id is that thread's), then queued; past
// `max_queued_bytes` lines are dropped and counted
// (natter_log_lines_dropped_total), and once the writer catches up it logs
// how many went missing. A line is written as soon as the writer is free,
// unless lines come in a burst: past `Gathering::after_writes` writes within
// a second (a connect storm logs two lines per connection), the writer
// gathers for `Gathering::period` after each write, so the burst costs a write
// and a wake-up per period, not per line. A warning or worse cuts the
// gathering short. A crash loses what is queued: at most a period's worth
// while the writer keeps up, and only during a burst.
//
// Thread-safety: log() and flush() may be called from any thread.
#pragma once

#include <spdlog/sinks/sink.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace natter::ops {

class QueuedLogSink final : public spdlog::sinks::sink {
 public:
  struct Gathering {
    std::chrono::milliseconds period{10};
    int after_writes = 100;  // in one second
  };
  QueuedLogSink(int fd, size_t max_queued_bytes, Gathering gathering);
  QueuedLogSink(int fd, size_t max_queued_bytes) : QueuedLogSink(fd, max_queued_bytes, Gathering{}) {}
  // Writes what is queued, waiting at most a few seconds for a reader that
  // does not read, then stops the writer.
  ~QueuedLogSink() override;
  QueuedLogSink(const QueuedLogSink&) = delete;
  QueuedLogSink& operator=(const QueuedLogSink&) = delete;

  void log(const spdlog::details::log_msg& msg) override;
  // Waits until what was queued before it is written (at most a few seconds).
  void flush() override;
  void set_pattern(const std::string& pattern) override;
  void set_formatter(std::unique_ptr<spdlog::formatter> formatter) override;

  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  // Batches of lines written since start.
  uint64_t batches_written() const { return batches_written_.load(std::memory_order_relaxed); }
  const Gathering& gathering() const { return gathering_; }

 private:
  void WriterLoop();
  // Writes `bytes` to fd_ a pipe's atomic chunk (whole lines) at a time, each
  // once the fd can take it; false when told to give up (stopping and past
  // the deadline) or the fd is broken. `done`: the bytes written.
  bool WriteAll(const std::string& bytes, size_t& done);
  void CountDropped(uint64_t lines);

  const int fd_;
  const size_t max_queued_bytes_;
  const Gathering gathering_;
  std::mutex mu_;
  std::condition_variable wake_;     // the writer: lines queued, or stopping
  std::condition_variable written_;  // flush(): a batch went out
  std::shared_ptr<spdlog::formatter> formatter_;
  std::string queued_;
  uint64_t queued_through_ = 0;   // lines queued so far
  uint64_t written_through_ = 0;  // lines written (or given up on) so far
  bool stopping_ = false;
  bool writer_waits_ = false;  // for lines: the next one wakes it
  int flushes_waiting_ = 0;    // cut the gathering short
  bool urgent_ = false;        // a warning or worse is queued: cut it short too
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> batches_written_{0};
  std::thread writer_;  // last: it uses everything above
};

// The lines dropped since start by the sink SetupLogging installed.
uint64_t LogLinesDropped();

}  // namespace natter::ops
