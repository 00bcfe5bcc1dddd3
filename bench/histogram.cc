#include "bench/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include <boost/json.hpp>

namespace natter::bench {

namespace {
constexpr int64_t kLinear = int64_t{1} << (Histogram::kSubBits + 1);  // 256: exact below
constexpr int kHalf = 1 << Histogram::kSubBits;                       // 128
}  // namespace

int Histogram::BucketIndex(int64_t value) {
  if (value < kLinear) return static_cast<int>(std::max<int64_t>(value, 0));
  // value in [2^m, 2^(m+1)), m >= 8: keep the top kSubBits+1 bits.
  const int m = 63 - std::countl_zero(static_cast<uint64_t>(value));
  const int shift = m - kSubBits;
  const int sub = static_cast<int>(value >> shift) - kHalf;  // 0..127
  return static_cast<int>(kLinear) + (shift - 1) * kHalf + sub;
}

int64_t Histogram::BucketLow(int index) {
  if (index < kLinear) return index;
  const int rel = index - static_cast<int>(kLinear);
  const int shift = rel / kHalf + 1;
  const int sub = rel % kHalf;
  return static_cast<int64_t>(kHalf + sub) << shift;
}

int64_t Histogram::BucketHigh(int index) {
  if (index < kLinear) return index + 1;
  const int rel = index - static_cast<int>(kLinear);
  const int shift = rel / kHalf + 1;
  return BucketLow(index) + (int64_t{1} << shift);
}

Histogram::Histogram() : counts_(BucketIndex(kMaxValue) + 1, 0) {}

void Histogram::Record(int64_t value, int64_t count) {
  if (count <= 0) return;
  value = std::max<int64_t>(value, 0);
  const int64_t clamped = std::min(value, kMaxValue);
  counts_[BucketIndex(clamped)] += count;
  if (count_ == 0 || value < min_) min_ = value;
  if (value > max_) max_ = value;
  count_ += count;
  sum_ += value * count;
}

void Histogram::Merge(const Histogram& other) {
  if (other.count_ == 0) return;
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  if (count_ == 0 || other.min_ < min_) min_ = other.min_;
  max_ = std::max(max_, other.max_);
  count_ += other.count_;
  sum_ += other.sum_;
}

void Histogram::Reset() { *this = Histogram(); }

int64_t Histogram::Percentile(double p) const {
  if (count_ == 0) return 0;
  p = std::clamp(p, 0.0, 100.0);
  int64_t rank = static_cast<int64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<int64_t>(rank, 1, count_);
  if (rank == count_) return max_;  // the top sample is known exactly
  int64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const int idx = static_cast<int>(i);
      const int64_t low = BucketLow(idx), high = BucketHigh(idx);
      const int64_t mid = high - low <= 1 ? low : low + (high - low) / 2;
      return std::clamp(mid, min_, max_);
    }
  }
  return max_;
}

boost::json::value Histogram::ToJson() const {
  boost::json::array buckets;
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] != 0) buckets.push_back(boost::json::array{static_cast<int64_t>(i), counts_[i]});
  }
  return boost::json::object{
      {"count", count_}, {"min", min()}, {"max", max_}, {"sum", sum_}, {"buckets", std::move(buckets)}};
}

Histogram Histogram::FromJson(const boost::json::value& v) {
  Histogram h;
  const auto& o = v.as_object();
  h.count_ = o.at("count").to_number<int64_t>();
  h.min_ = o.at("min").to_number<int64_t>();
  h.max_ = o.at("max").to_number<int64_t>();
  h.sum_ = o.at("sum").to_number<int64_t>();
  for (const auto& b : o.at("buckets").as_array()) {
    const auto& pair = b.as_array();
    const int64_t idx = pair[0].to_number<int64_t>();
    if (idx >= 0 && idx < static_cast<int64_t>(h.counts_.size())) h.counts_[idx] += pair[1].to_number<int64_t>();
  }
  return h;
}

}  // namespace natter::bench
