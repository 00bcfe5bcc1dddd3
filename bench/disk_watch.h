// Watches the server's data directory while scenarios run: the largest size
// its write-ahead logs (files ending in "-wal") and the whole directory
// reached, read every 200 ms. A log that only grows under steady load is a
// defect the per-phase figures would not show.
//
// Thread-safety: one sampling thread of its own; TakePeaks from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace natter::bench {

struct DiskPeaks {
  int64_t wal_bytes = 0;
  int64_t dir_bytes = 0;
};

class DiskWatch {
 public:
  explicit DiskWatch(std::string dir);
  ~DiskWatch();
  DiskWatch(const DiskWatch&) = delete;
  DiskWatch& operator=(const DiskWatch&) = delete;

  // The peaks since the last call, then starts over.
  DiskPeaks TakePeaks();

 private:
  void Sample();

  const std::string dir_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  DiskPeaks peaks_;
  std::thread thread_;
};

}  // namespace natter::bench
