// The heap is trimmed once after a burst of connections, when it is over:
// not during it, not for a trickle, not again without another burst.
#include "ops/heap_trimmer.h"

#include <gtest/gtest.h>

namespace natter::ops {
namespace {

TEST(HeapTrimmer, TrimsOnceWhenABurstIsOver) {
  std::atomic<uint64_t> opened{0};
  int trims = 0;
  HeapTrimmer trimmer(opened, 1000, [&] {
    ++trims;
    return true;
  });
  opened = 600;
  trimmer.Tick();
  opened = 1500;
  trimmer.Tick();
  EXPECT_EQ(trims, 0) << "trimmed while connections were still opening";
  opened = 1505;   // a few reconnects, as on any busy node
  trimmer.Tick();  // the burst is over
  EXPECT_EQ(trims, 1);
  trimmer.Tick();
  trimmer.Tick();
  EXPECT_EQ(trims, 1) << "trimmed again without another burst";
  opened = 1900;  // a trickle after the burst
  trimmer.Tick();
  trimmer.Tick();
  EXPECT_EQ(trims, 1) << "a trickle of 400 is not a burst";
  opened = 2600;
  trimmer.Tick();
  EXPECT_EQ(trims, 1) << "trimmed while the next burst was opening";
  trimmer.Tick();
  EXPECT_EQ(trims, 2) << "the next burst (1,100 since the trim) is trimmed after too";
}

TEST(HeapTrimmer, ConnectionsOpenedBeforeItStartedAreNotABurst) {
  std::atomic<uint64_t> opened{5000};
  int trims = 0;
  HeapTrimmer trimmer(opened, 1000, [&] {
    ++trims;
    return false;
  });
  trimmer.Tick();
  trimmer.Tick();
  EXPECT_EQ(trims, 0);
}

}  // namespace
}  // namespace natter::ops
