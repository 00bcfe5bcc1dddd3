// Latency histogram with log-linear buckets (the HdrHistogram layout): values
// below 256 are counted exactly, larger ones in 128 sub-buckets per power of
// two, so any reported percentile is within 1% (0.4% using bucket midpoints)
// of the true sample. Fixed memory, O(1) record, exact merge by adding counts,
// which is what lets worker threads and processes be combined afterwards.
//
// Thread-safety: not thread-safe; keep one per thread and Merge() at the end.
#pragma once

#include <cstdint>
#include <vector>

#include <boost/json/value.hpp>

namespace natter::bench {

class Histogram {
 public:
  Histogram();

  // Records a value (nanoseconds by convention). Negative values count as 0;
  // values above kMaxValue are clamped into the top bucket (max() stays exact).
  void Record(int64_t value, int64_t count = 1);
  void Merge(const Histogram& other);
  void Reset();

  int64_t count() const { return count_; }
  int64_t min() const { return count_ ? min_ : 0; }
  int64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / count_ : 0.0; }

  // The value at percentile p (0..100): the smallest bucket whose cumulative
  // count reaches ceil(p/100 * count), reported as that bucket's midpoint
  // (clamped to [min, max]); p100 is the exact max.
  int64_t Percentile(double p) const;

  // Sparse bucket list and totals; FromJson(ToJson()) is exact.
  boost::json::value ToJson() const;
  static Histogram FromJson(const boost::json::value& v);

  // Bucket geometry, exposed for tests and the HTML distribution plot.
  static int BucketIndex(int64_t value);
  static int64_t BucketLow(int index);
  static int64_t BucketHigh(int index);                   // exclusive
  static constexpr int64_t kMaxValue = int64_t{1} << 44;  // ~4.9 hours in ns
  static constexpr int kSubBits = 7;                      // 128 sub-buckets per power of two
  int buckets() const { return static_cast<int>(counts_.size()); }
  int64_t bucket_count(int index) const { return counts_[index]; }

 private:
  std::vector<int64_t> counts_;
  int64_t count_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
  int64_t sum_ = 0;
};

}  // namespace natter::bench
