// The log sink never makes the logging thread wait for stdout: a reader that
// stops reading costs dropped (counted) lines, not time.
#include "ops/log_sink.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spdlog/details/log_msg.h>
#include <spdlog/pattern_formatter.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

namespace natter::ops {
namespace {

class Pipe {
 public:
  Pipe() { EXPECT_EQ(pipe2(fds_, O_CLOEXEC), 0); }
  ~Pipe() {
    CloseRead();
    close(fds_[1]);
  }
  int read_end() const { return fds_[0]; }
  int write_end() const { return fds_[1]; }
  void CloseRead() {
    if (fds_[0] >= 0) close(fds_[0]);
    fds_[0] = -1;
  }
  std::string ReadAvailable() {
    fcntl(fds_[0], F_SETFL, O_NONBLOCK);
    std::string out;
    char buf[65536];
    for (;;) {
      ssize_t n = read(fds_[0], buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

 private:
  int fds_[2] = {-1, -1};
};

void Log(QueuedLogSink& sink, const std::string& text) {
  spdlog::details::log_msg msg("", spdlog::level::info, text);
  sink.log(msg);
}

TEST(QueuedLogSink, WritesEveryLineInOrderWhenRead) {
  Pipe pipe;
  {
    QueuedLogSink sink(pipe.write_end(), 1 << 16);
    sink.set_formatter(std::make_unique<spdlog::pattern_formatter>("%v"));
    for (int i = 0; i < 100; ++i) Log(sink, "line " + std::to_string(i));
    sink.flush();
    EXPECT_EQ(sink.dropped(), 0u);
  }
  std::string expected;
  for (int i = 0; i < 100; ++i) expected += "line " + std::to_string(i) + "\n";
  EXPECT_EQ(pipe.ReadAvailable(), expected);
}

// A steady stream of lines (a connect storm logs two per connection) is
// written a gathered batch at a time, not a write and a wake-up per line; a
// line logged alone still goes out at once, without a flush.
TEST(QueuedLogSink, AStreamOfLinesIsWrittenInGatheredBatches) {
  Pipe pipe;
  QueuedLogSink sink(pipe.write_end(), 1 << 20);
  sink.set_formatter(std::make_unique<spdlog::pattern_formatter>("%v"));
  Log(sink, "alone");
  std::string got;
  for (int i = 0; i < 200 && got.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    got = pipe.ReadAvailable();
  }
  EXPECT_EQ(got, "alone\n");

  const uint64_t before = sink.batches_written();
  const int lines = 2000;
  auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < lines; ++i) {
    Log(sink, "line " + std::to_string(i));
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  auto elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  sink.flush();
  const uint64_t batches = sink.batches_written() - before;
  // The writes allowed per second before gathering starts (the stream may
  // touch one second more than it lasts), then one per gathering period at
  // most, plus the first and the flush's.
  const auto& gathering = sink.gathering();
  EXPECT_LE(batches, static_cast<uint64_t>((elapsed_ms.count() / 1000 + 2) * gathering.after_writes +
                                           elapsed_ms.count() / gathering.period.count() + 3))
      << lines << " lines over " << elapsed_ms.count() << " ms";
  std::string expected;
  for (int i = 0; i < lines; ++i) expected += "line " + std::to_string(i) + "\n";
  EXPECT_EQ(pipe.ReadAvailable(), expected);
  EXPECT_EQ(sink.dropped(), 0u);
}

// Outside a burst nothing waits for a gathering period: the lines just before
// a crash are on their way already.
TEST(QueuedLogSink, LinesOutsideABurstAreWrittenAtOnce) {
  Pipe pipe;
  QueuedLogSink sink(pipe.write_end(), 1 << 20, {.period = std::chrono::seconds(3), .after_writes = 100});
  sink.set_formatter(std::make_unique<spdlog::pattern_formatter>("%v"));
  for (int i = 0; i < 5; ++i) {
    const std::string text = "line " + std::to_string(i);
    Log(sink, text);
    std::string got;
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
    while (got.empty() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      got = pipe.ReadAvailable();
    }
    EXPECT_EQ(got, text + "\n") << "waited for the gathering";
  }
}

// A warning does not wait for the gathering to end: the lines before a
// crash are the ones worth having.
TEST(QueuedLogSink, AWarningIsWrittenWithoutWaitingForTheGathering) {
  Pipe pipe;
  QueuedLogSink sink(pipe.write_end(), 1 << 20, {.period = std::chrono::seconds(3), .after_writes = 0});
  sink.set_formatter(std::make_unique<spdlog::pattern_formatter>("%v"));
  auto read_within = [&](std::chrono::milliseconds limit) {
    std::string got;
    auto until = std::chrono::steady_clock::now() + limit;
    while (got.empty() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      got = pipe.ReadAvailable();
    }
    return got;
  };
  Log(sink, "first");  // the writer waited: out at once, then it gathers for 3 s
  EXPECT_EQ(read_within(std::chrono::milliseconds(1500)), "first\n");
  Log(sink, "gathered");
  EXPECT_EQ(read_within(std::chrono::milliseconds(100)), "") << "an info line cut the gathering short";
  spdlog::details::log_msg warning("", spdlog::level::warn, "trouble");
  sink.log(warning);
  EXPECT_EQ(read_within(std::chrono::milliseconds(1500)), "gathered\ntrouble\n");
}

TEST(QueuedLogSink, AReaderThatNeverReadsCostsDroppedLinesNotTime) {
  Pipe pipe;
  const std::string text(200, 'x');
  auto started = std::chrono::steady_clock::now();
  uint64_t dropped = 0;
  const uint64_t dropped_before = LogLinesDropped();
  {
    QueuedLogSink sink(pipe.write_end(), 256 * 1024);
    sink.set_formatter(std::make_unique<spdlog::pattern_formatter>("%v"));
    // Far more than the pipe (64 KiB) and the queue (256 KiB) hold.
    for (int i = 0; i < 5000; ++i) Log(sink, text);
    dropped = sink.dropped();
    EXPECT_GT(dropped, 0u);
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  }  // the destructor gives up on the reader after a few seconds
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  // What reached the pipe is whole lines, and fewer than were logged.
  std::string written = pipe.ReadAvailable();
  ASSERT_FALSE(written.empty());
  EXPECT_EQ(written.back(), '\n');
  EXPECT_EQ(written.size() % (text.size() + 1), 0u);
  EXPECT_LT(written.size() / (text.size() + 1), 5000u);
  // Every line is either in the pipe or counted as dropped (the destructor's
  // leftovers included), none twice.
  EXPECT_EQ(written.size() / (text.size() + 1) + (LogLinesDropped() - dropped_before), 5000u);
}

TEST(QueuedLogSink, AReaderThatWentAwayCountsTheLinesAsDropped) {
  Pipe pipe;
  pipe.CloseRead();
  QueuedLogSink sink(pipe.write_end(), 1 << 16);
  sink.set_formatter(std::make_unique<spdlog::pattern_formatter>("%v"));
  for (int i = 0; i < 10; ++i) Log(sink, "gone");
  sink.flush();
  EXPECT_EQ(sink.dropped(), 10u);
}

}  // namespace
}  // namespace natter::ops
