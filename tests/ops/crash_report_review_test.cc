#include "ops/crash_report_review.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fakes/temp_db.h"

namespace natter::ops {
namespace {

namespace fs = std::filesystem;

class CrashReportReviewTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = natter::testing::MakeTempDir("natter-crash"); }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& name, const std::string& text = "natterd crash report\nsignal: SIGSEGV (11)\n") {
    std::ofstream(fs::path(dir_) / name) << text;
  }
  std::vector<std::string> Names() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  std::string dir_;
};

TEST_F(CrashReportReviewTest, NewReportsAreMarkedSeenAndOnlyTheNewestAreKept) {
  Write("crash-20240101T000000Z-10.txt");
  Write("crash-20240102T000000Z-11.txt");
  Write("crash-20240103T000000Z-12.new");
  Write("crash-20240104T000000Z-13.new");
  Write("notes.txt");  // not a report: left alone
  auto tally = ReviewCrashReports(dir_, 3);
  EXPECT_EQ(tally.found, 2u);
  EXPECT_EQ(tally.kept, 3);
  EXPECT_EQ(Names(), (std::vector<std::string>{"crash-20240102T000000Z-11.txt", "crash-20240103T000000Z-12.txt",
                                               "crash-20240104T000000Z-13.txt", "notes.txt"}));

  // The next start finds nothing new.
  tally = ReviewCrashReports(dir_, 3);
  EXPECT_EQ(tally.found, 0u);
  EXPECT_EQ(tally.kept, 3);
}

TEST_F(CrashReportReviewTest, KeepingNoneStillCountsWhatWasFound) {
  Write("crash-20240103T000000Z-12.new");
  auto tally = ReviewCrashReports(dir_, 0);
  EXPECT_EQ(tally.found, 1u);
  EXPECT_EQ(tally.kept, 0);
  EXPECT_TRUE(Names().empty());
}

TEST(CrashReportReview, AMissingDirectoryHoldsNone) {
  auto tally = ReviewCrashReports("/nonexistent/natter/crash", 10);
  EXPECT_EQ(tally.found, 0u);
  EXPECT_EQ(tally.kept, 0);
}

}  // namespace
}  // namespace natter::ops
