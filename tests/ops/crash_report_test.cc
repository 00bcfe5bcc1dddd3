// The crash reporter in a forked child (a death test): a real fault, a stack
// overflow on the main thread and on a thread given a signal stack each leave
// a report, and the child still dies of the signal.
#include "ops/crash_report.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "fakes/temp_db.h"

namespace natter::ops {
namespace {

namespace fs = std::filesystem;

// Deeper than any thread's stack (the compiler cannot know the limit is
// never reached); not a tail call, so it cannot become a loop.
volatile int recursion_limit = 1 << 30;

int Recurse(int depth) {
  volatile char frame[1024];
  frame[0] = static_cast<char>(depth);
  if (depth >= recursion_limit) return frame[0];
  return Recurse(depth + 1) + frame[0];
}

class CrashReportTest : public ::testing::Test {
 protected:
  // The child is this binary run again ("threadsafe": other tests leave
  // threads, and a fork of a threaded process may inherit a held lock). It
  // finds the test's directory in the environment the test passes it.
  void SetUp() override {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    if (const char* dir = std::getenv(kDirVariable)) {
      dir_ = dir;
      return;
    }
    dir_ = natter::testing::MakeTempDir("natter-crash-report");
    ::setenv(kDirVariable, dir_.c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv(kDirVariable);
    fs::remove_all(dir_);
  }

  static constexpr char kDirVariable[] = "NATTER_CRASH_REPORT_TEST_DIR";

  // The one report the child left.
  std::string Report() const {
    std::string text;
    int reports = 0;
    for (const auto& e : fs::directory_iterator(dir_)) {
      std::string name = e.path().filename().string();
      EXPECT_EQ(name.rfind(kCrashReportPrefix, 0), 0u) << name;
      EXPECT_EQ(name.substr(name.size() - 4), kNewCrashReportSuffix) << name;
      std::ifstream in(e.path());
      std::stringstream all;
      all << in.rdbuf();
      text = all.str();
      ++reports;
    }
    EXPECT_EQ(reports, 1);
    return text;
  }

  static size_t Frames(const std::string& report) {
    auto at = report.find("\nbacktrace:\n");
    if (at == std::string::npos) return 0;
    size_t frames = 0;
    for (size_t i = at + 12; i < report.size(); ++i) frames += report[i] == '\n';
    return frames;
  }

  std::string dir_;
};

TEST_F(CrashReportTest, AFaultIsReportedAndStillKills) {
  // A page nobody may touch: a real fault, where a store through a null
  // pointer would be caught as undefined behaviour first under UBSan.
  void* page = ::mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(page, MAP_FAILED);
  EXPECT_EXIT(
      {
        InstallCrashReporter(dir_, "9.9.9");
        *static_cast<volatile int*>(page) = 1;
      },
      ::testing::KilledBySignal(SIGSEGV), "SIGSEGV; crash report in");
  ::munmap(page, 4096);
  std::string report = Report();
  // (The child, this binary run again, mapped its own page: its address differs.)
  EXPECT_NE(report.find("signal: SIGSEGV (11)\nfault address: 0x"), std::string::npos) << report;
  EXPECT_NE(report.find("\nversion: 9.9.9\n"), std::string::npos) << report;
  EXPECT_GE(Frames(report), 3u) << report;
}

TEST_F(CrashReportTest, AnAbortIsReported) {
  EXPECT_EXIT(
      {
        InstallCrashReporter(dir_, "9.9.9");
        std::abort();
      },
      ::testing::KilledBySignal(SIGABRT), "SIGABRT; crash report in");
  std::string report = Report();
  EXPECT_NE(report.find("signal: SIGABRT (6)\nsent by: pid "), std::string::npos) << report;
}

TEST_F(CrashReportTest, AStackOverflowOnTheMainThreadIsReported) {
  EXPECT_EXIT(
      {
        InstallCrashReporter(dir_, "9.9.9");
        Recurse(0);
      },
      ::testing::KilledBySignal(SIGSEGV), "SIGSEGV; crash report in");
  std::string report = Report();
  EXPECT_NE(report.find("signal: SIGSEGV (11)\nfault address: "), std::string::npos) << report;
  EXPECT_GE(Frames(report), 3u) << report;
}

TEST_F(CrashReportTest, AStackOverflowOnAThreadWithItsOwnSignalStackIsReported) {
  EXPECT_EXIT(
      {
        InstallCrashReporter(dir_, "9.9.9");
        std::thread worker([] {
          UseCrashStackOnThisThread();
          Recurse(0);
        });
        worker.join();
      },
      ::testing::KilledBySignal(SIGSEGV), "SIGSEGV; crash report in");
  EXPECT_GE(Frames(Report()), 3u);
}

}  // namespace
}  // namespace natter::ops
