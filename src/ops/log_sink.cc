#include "ops/log_sink.h"

#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <utility>

namespace natter::ops {
namespace {

// How long a stop or a flush waits for a reader that does not read.
constexpr std::chrono::milliseconds kGiveUpAfter{3000};
constexpr int kPollMs = 100;

std::atomic<uint64_t> dropped_by_every_sink{0};

}  // namespace

uint64_t LogLinesDropped() { return dropped_by_every_sink.load(std::memory_order_relaxed); }

void QueuedLogSink::CountDropped(uint64_t lines) {
  dropped_.fetch_add(lines, std::memory_order_relaxed);
  dropped_by_every_sink.fetch_add(lines, std::memory_order_relaxed);
}

QueuedLogSink::QueuedLogSink(int fd, size_t max_queued_bytes, Gathering gathering)
    : fd_(fd),
      max_queued_bytes_(max_queued_bytes),
      gathering_(gathering),
      formatter_(std::make_shared<spdlog::pattern_formatter>()) {
  writer_ = std::thread([this] { WriterLoop(); });
  pthread_setname_np(writer_.native_handle(), "log-writer");
}

QueuedLogSink::~QueuedLogSink() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  writer_.join();
}

void QueuedLogSink::log(const spdlog::details::log_msg& msg) {
  std::shared_ptr<spdlog::formatter> formatter;
  {
    std::lock_guard lock(mu_);
    formatter = formatter_;
  }
  spdlog::memory_buf_t line;
  formatter->format(msg, line);
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (queued_.size() + line.size() > max_queued_bytes_) return CountDropped(1);
    queued_.append(line.data(), line.size());
    ++queued_through_;
    // Gathering, or already woken: it takes this line with the others, unless
    // the queue is half full or the line is a warning or worse (the lines
    // before a crash are the ones worth having).
    if (msg.level >= spdlog::level::warn) urgent_ = true;
    wake = std::exchange(writer_waits_, false) || queued_.size() >= max_queued_bytes_ / 2 || urgent_;
  }
  if (wake) wake_.notify_one();
}

void QueuedLogSink::flush() {
  std::unique_lock lock(mu_);
  uint64_t target = queued_through_;
  ++flushes_waiting_;
  wake_.notify_one();
  written_.wait_for(lock, kGiveUpAfter, [&] { return written_through_ >= target || stopping_; });
  --flushes_waiting_;
}

void QueuedLogSink::set_pattern(const std::string& pattern) {
  set_formatter(std::make_unique<spdlog::pattern_formatter>(pattern));
}

void QueuedLogSink::set_formatter(std::unique_ptr<spdlog::formatter> formatter) {
  std::lock_guard lock(mu_);
  formatter_ = std::move(formatter);
}

void QueuedLogSink::WriterLoop() {
  uint64_t reported = 0;
  auto second_began = std::chrono::steady_clock::now();
  int writes_this_second = 0;
  std::unique_lock lock(mu_);
  for (;;) {
    writer_waits_ = true;
    wake_.wait(lock, [this] { return !queued_.empty() || stopping_; });
    writer_waits_ = false;
    if (queued_.empty()) return;  // stopping, and everything is out
    std::string batch;
    batch.swap(queued_);
    urgent_ = false;
    uint64_t through = queued_through_;
    lock.unlock();
    size_t written = 0;
    bool ok = WriteAll(batch, written);
    // Lines dropped meanwhile are told of once there is room again.
    uint64_t dropped = dropped_.load(std::memory_order_relaxed);
    if (ok && dropped > reported) {
      spdlog::warn("{} log lines were dropped: stdout was not read fast enough", dropped - reported);
      reported = dropped;
    }
    lock.lock();
    // The fd is broken, or a stop gave up on it: the lines not wholly written are lost.
    if (!ok)
      CountDropped(
          static_cast<uint64_t>(std::count(batch.begin() + static_cast<ptrdiff_t>(written), batch.end(), '\n')));
    written_through_ = through;
    batches_written_.fetch_add(1, std::memory_order_relaxed);
    written_.notify_all();
    if (!ok && stopping_) {
      // Given up on: what is still queued is never written either.
      CountDropped(static_cast<uint64_t>(std::count(queued_.begin(), queued_.end(), '\n')));
      queued_.clear();
      return;
    }
    // In a burst, gathers what comes next (unwoken by it) unless a stop or a
    // flush waits, half the queue's bound is already taken, or a warning came.
    auto now = std::chrono::steady_clock::now();
    if (now - second_began >= std::chrono::seconds(1)) {
      second_began = now;
      writes_this_second = 0;
    }
    if (++writes_this_second <= gathering_.after_writes) continue;
    wake_.wait_for(lock, gathering_.period, [this] {
      return stopping_ || flushes_waiting_ > 0 || urgent_ || queued_.size() >= max_queued_bytes_ / 2;
    });
  }
}

bool QueuedLogSink::WriteAll(const std::string& bytes, size_t& done) {
  auto deadline = std::chrono::steady_clock::time_point::max();
  done = 0;
  while (done < bytes.size()) {
    {
      std::lock_guard lock(mu_);
      if (stopping_ && deadline == std::chrono::steady_clock::time_point::max()) {
        deadline = std::chrono::steady_clock::now() + kGiveUpAfter;
      }
    }
    if (std::chrono::steady_clock::now() > deadline) return false;
    // Writable means room for at least PIPE_BUF bytes: a write of at most
    // that many then returns at once, and the loop can notice a stop.
    pollfd p{fd_, POLLOUT, 0};
    int ready = poll(&p, 1, kPollMs);
    if (ready < 0 && errno != EINTR) return false;
    if (ready <= 0) continue;
    if (p.revents & (POLLERR | POLLNVAL)) return false;
    // Whole lines where they fit, so giving up leaves no half line behind.
    size_t chunk = std::min<size_t>(bytes.size() - done, PIPE_BUF);
    if (done + chunk < bytes.size()) {
      size_t end = bytes.rfind('\n', done + chunk - 1);
      if (end != std::string::npos && end >= done) chunk = end + 1 - done;
    }
    ssize_t n = ::write(fd_, bytes.data() + done, chunk);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return false;  // EPIPE: nobody reads any more
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace natter::ops
