// What one event loop measures, in a shape that merges exactly: counters add,
// histograms add, per-second series add by index, per-conversation figures
// take the max (acknowledged seq) or the min (what every receiver holds).
// Threads merge into their worker, workers into the run (through JSON, since
// workers are separate processes).
//
// Thread-safety: not thread-safe; each loop owns one, merged after it stops.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "bench/histogram.h"

namespace natter::bench {

// Monotonic nanoseconds (CLOCK_MONOTONIC, shared by every process here).
int64_t NowNs();

// Start of the current scenario; per-second series count from here. Set by
// the coordinator before it forks, so every worker shares it.
extern int64_t g_series_epoch_ns;

struct ConvCheck {
  int64_t acked_max = 0;  // highest seq acknowledged to a sender (max)
  int64_t held_min = -1;  // lowest contiguous prefix held by a receiver (min; -1 none)
  int64_t seen_max = 0;   // highest seq any receiver saw (max)
  int64_t receivers = 0;  // receivers that reported (sum)
};

struct Stats {
  std::map<std::string, int64_t> counters;
  std::map<std::string, Histogram> histograms;
  std::map<std::string, std::vector<int64_t>> series;
  std::map<int64_t, ConvCheck> convs;
  std::vector<std::string> errors;    // correctness: loss, duplicate, reordering
  std::vector<std::string> problems;  // failed connections, disconnects, timeouts
  int64_t errors_total = 0;
  int64_t problems_total = 0;

  void Add(const std::string& counter, int64_t n = 1) { counters[counter] += n; }
  int64_t Get(const std::string& counter) const;
  void Record(const std::string& histogram, int64_t ns) { histograms[histogram].Record(ns); }
  // Counts one event in the per-second series `name` at time `now_ns`.
  void Tick(const std::string& name, int64_t now_ns, int64_t n = 1);
  void Error(std::string text);
  void Problem(std::string text);
  void Merge(const Stats& other);

  boost::json::value ToJson() const;
  static Stats FromJson(const boost::json::value& v);
};

}  // namespace natter::bench
