// The bench's watch of the server's data directory: the largest size the
// write-ahead logs and the directory reached, not their size at the end.
#include "bench/disk_watch.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "fakes/temp_db.h"

namespace natter::bench {
namespace {

void WriteFile(const std::string& path, size_t bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << std::string(bytes, 'x');
}

TEST(DiskWatchTest, ReportsThePeakOfTheLogsAndTheDirectoryThenStartsOver) {
  const std::string dir = testing::MakeTempDir("natter-disk-watch");
  WriteFile(dir + "/natter.db", 1000);
  {
    DiskWatch watch(dir);
    WriteFile(dir + "/natter.db-wal", 50000);
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    WriteFile(dir + "/natter.db-wal", 2000);  // cut back: the peak stays
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    DiskPeaks peaks = watch.TakePeaks();
    EXPECT_EQ(peaks.wal_bytes, 50000);
    EXPECT_EQ(peaks.dir_bytes, 51000);
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    peaks = watch.TakePeaks();  // since the last call only
    EXPECT_EQ(peaks.wal_bytes, 2000);
    EXPECT_EQ(peaks.dir_bytes, 3000);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace natter::bench
