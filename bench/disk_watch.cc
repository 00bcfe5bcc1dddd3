#include "bench/disk_watch.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

namespace natter::bench {

DiskWatch::DiskWatch(std::string dir) : dir_(std::move(dir)) {
  thread_ = std::thread([this] {
    while (!stop_.load()) {
      Sample();
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  });
}

DiskWatch::~DiskWatch() {
  stop_.store(true);
  thread_.join();
}

void DiskWatch::Sample() {
  namespace fs = std::filesystem;
  DiskPeaks now;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir_, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    std::error_code size_ec;
    if (!it->is_regular_file(size_ec)) continue;
    const auto size = static_cast<int64_t>(it->file_size(size_ec));
    if (size_ec) continue;  // removed while listed
    now.dir_bytes += size;
    const std::string name = it->path().filename().string();
    if (name.size() > 4 && name.ends_with("-wal")) now.wal_bytes += size;
  }
  std::lock_guard lock(mu_);
  peaks_.wal_bytes = std::max(peaks_.wal_bytes, now.wal_bytes);
  peaks_.dir_bytes = std::max(peaks_.dir_bytes, now.dir_bytes);
}

DiskPeaks DiskWatch::TakePeaks() {
  std::lock_guard lock(mu_);
  DiskPeaks out = peaks_;
  peaks_ = DiskPeaks{};
  return out;
}

}  // namespace natter::bench
