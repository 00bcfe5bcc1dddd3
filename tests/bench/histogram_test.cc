// The bench's latency histogram: every percentile within 1% of the exact
// value from a sorted reference, exact merge, exact JSON round trip.
#include "bench/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace natter::bench {
namespace {

// The exact percentile with the histogram's rank rule: the ceil(p/100*n)-th smallest.
int64_t Reference(std::vector<int64_t> sorted, double p) {
  const size_t n = sorted.size();
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(n)));
  rank = std::clamp<size_t>(rank, 1, n);
  return sorted[rank - 1];
}

void ExpectWithinOnePercent(const Histogram& h, const std::vector<int64_t>& sorted) {
  for (double p : {0.0, 1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    const double want = static_cast<double>(Reference(sorted, p));
    const double got = static_cast<double>(h.Percentile(p));
    EXPECT_LE(std::fabs(got - want), 0.01 * want + 0.5) << "p" << p << " want " << want << " got " << got;
  }
}

TEST(BenchHistogram, ExactBelow256) {
  Histogram h;
  for (int v = 0; v < 256; ++v) h.Record(v);
  EXPECT_EQ(h.Percentile(50), 127);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), 255);
  EXPECT_EQ(h.count(), 256);
}

TEST(BenchHistogram, BucketsCoverEveryValueWithinOnePercent) {
  for (int64_t v : {int64_t{256}, int64_t{257}, int64_t{511}, int64_t{512}, int64_t{1000}, int64_t{123456789},
                    int64_t{1} << 40, Histogram::kMaxValue}) {
    const int i = Histogram::BucketIndex(v);
    EXPECT_LE(Histogram::BucketLow(i), v);
    EXPECT_GT(Histogram::BucketHigh(i), v);
    EXPECT_LE(static_cast<double>(Histogram::BucketHigh(i) - Histogram::BucketLow(i)), 0.01 * v);
  }
}

TEST(BenchHistogram, PercentilesMatchSortedReference) {
  std::mt19937_64 rng(42);
  // Latency-like: log-normal around 2 ms, with a heavy tail.
  std::lognormal_distribution<double> dist(std::log(2e6), 1.2);
  std::vector<int64_t> values;
  Histogram h;
  for (int i = 0; i < 200000; ++i) {
    const int64_t v = static_cast<int64_t>(dist(rng));
    values.push_back(v);
    h.Record(v);
  }
  std::sort(values.begin(), values.end());
  ExpectWithinOnePercent(h, values);
  EXPECT_EQ(h.min(), values.front());
  EXPECT_EQ(h.max(), values.back());
}

TEST(BenchHistogram, UniformAcrossMagnitudes) {
  std::mt19937_64 rng(7);
  std::vector<int64_t> values;
  Histogram h;
  for (int i = 0; i < 50000; ++i) {
    const int64_t v = static_cast<int64_t>(std::pow(10.0, std::uniform_real_distribution<double>(0, 11)(rng)));
    values.push_back(v);
    h.Record(v);
  }
  std::sort(values.begin(), values.end());
  ExpectWithinOnePercent(h, values);
}

TEST(BenchHistogram, MergeEqualsRecordingEverythingInOne) {
  std::mt19937_64 rng(3);
  std::exponential_distribution<double> dist(1e-6);
  Histogram a, b, all;
  std::vector<int64_t> values;
  for (int i = 0; i < 30000; ++i) {
    const int64_t v = static_cast<int64_t>(dist(rng));
    (i % 3 == 0 ? a : b).Record(v);
    all.Record(v);
    values.push_back(v);
  }
  Histogram merged;
  merged.Merge(a);
  merged.Merge(b);
  EXPECT_EQ(merged.count(), all.count());
  EXPECT_EQ(merged.min(), all.min());
  EXPECT_EQ(merged.max(), all.max());
  EXPECT_DOUBLE_EQ(merged.mean(), all.mean());
  for (double p : {50.0, 90.0, 99.0, 99.9}) EXPECT_EQ(merged.Percentile(p), all.Percentile(p));
  std::sort(values.begin(), values.end());
  ExpectWithinOnePercent(merged, values);
}

TEST(BenchHistogram, JsonRoundTripIsExact) {
  Histogram h;
  for (int64_t v = 1; v < 10'000'000; v = v * 3 + 1) h.Record(v, v % 5 + 1);
  Histogram back = Histogram::FromJson(h.ToJson());
  EXPECT_EQ(back.count(), h.count());
  EXPECT_EQ(back.min(), h.min());
  EXPECT_EQ(back.max(), h.max());
  for (int i = 0; i < h.buckets(); ++i) EXPECT_EQ(back.bucket_count(i), h.bucket_count(i));
}

TEST(BenchHistogram, EmptyAndClamped) {
  Histogram h;
  EXPECT_EQ(h.Percentile(99), 0);
  h.Record(-5);
  EXPECT_EQ(h.min(), 0);
  h.Record(Histogram::kMaxValue * 4);
  EXPECT_EQ(h.max(), Histogram::kMaxValue * 4);  // the true maximum is kept
  EXPECT_EQ(h.Percentile(100), Histogram::kMaxValue * 4);
}

}  // namespace
}  // namespace natter::bench
