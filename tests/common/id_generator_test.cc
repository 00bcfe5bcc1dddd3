#include "common/id_generator.h"

#include <gtest/gtest.h>

#include <set>

namespace natter {
namespace {

TEST(IdGenerator, UniqueIncreasingAndBelowTwoToThe53) {
  ManualClock clock(1'800'000'000'000);
  IdGenerator ids(clock, 3);
  std::set<int64_t> seen;
  int64_t last = 0;
  for (int i = 0; i < 2000; ++i) {  // more than 256 in one millisecond
    int64_t id = ids.Next();
    EXPECT_GT(id, last);
    EXPECT_LT(id, int64_t{1} << 53);
    last = id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 2000u);
}

TEST(IdGenerator, NodesNeverCollide) {
  ManualClock clock(1'800'000'000'000);
  IdGenerator a(clock, 1), b(clock, 2);
  std::set<int64_t> seen;
  for (int i = 0; i < 500; ++i) {
    seen.insert(a.Next());
    seen.insert(b.Next());
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(IdGenerator, RefusesNodeIdsOutsideItsFourBits) {
  ManualClock clock(1'800'000'000'000);
  EXPECT_THROW(IdGenerator(clock, 16), std::invalid_argument);  // would repeat node 0's ids
  EXPECT_THROW(IdGenerator(clock, -1), std::invalid_argument);
  EXPECT_THROW(IdGenerator(clock, 64), std::invalid_argument);
  EXPECT_NO_THROW(IdGenerator(clock, 15));
}

TEST(IdGenerator, ClockGoingBackDoesNotRepeat) {
  ManualClock clock(1'800'000'000'000);
  IdGenerator ids(clock, 0);
  int64_t before = ids.Next();
  clock.Advance(-5000);
  EXPECT_GT(ids.Next(), before);
}

}  // namespace
}  // namespace natter
