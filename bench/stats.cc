#include "bench/stats.h"

#include <time.h>

#include <algorithm>

#include <boost/json.hpp>

namespace natter::bench {

namespace json = boost::json;

int64_t g_series_epoch_ns = 0;

namespace {
constexpr size_t kMaxListed = 40;  // examples kept; the totals count everything

// Texts may quote bytes off the wire: keep them printable ASCII so the JSON
// a worker sends (and the report) stays valid UTF-8.
std::string Printable(std::string text) {
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = '?';
  }
  return text;
}
}  // namespace

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

int64_t Stats::Get(const std::string& counter) const {
  auto it = counters.find(counter);
  return it == counters.end() ? 0 : it->second;
}

void Stats::Tick(const std::string& name, int64_t now_ns, int64_t n) {
  const int64_t sec = std::max<int64_t>(0, (now_ns - g_series_epoch_ns) / 1'000'000'000);
  if (sec > 100000) return;
  auto& s = series[name];
  if (s.size() <= static_cast<size_t>(sec)) s.resize(sec + 1, 0);
  s[sec] += n;
}

void Stats::Error(std::string text) {
  ++errors_total;
  if (errors.size() < kMaxListed) errors.push_back(Printable(std::move(text)));
}

void Stats::Problem(std::string text) {
  ++problems_total;
  if (problems.size() < kMaxListed) problems.push_back(Printable(std::move(text)));
}

void Stats::Merge(const Stats& o) {
  for (const auto& [k, v] : o.counters) counters[k] += v;
  for (const auto& [k, v] : o.histograms) histograms[k].Merge(v);
  for (const auto& [k, v] : o.series) {
    auto& s = series[k];
    if (s.size() < v.size()) s.resize(v.size(), 0);
    for (size_t i = 0; i < v.size(); ++i) s[i] += v[i];
  }
  for (const auto& [id, c] : o.convs) {
    auto& m = convs[id];
    m.acked_max = std::max(m.acked_max, c.acked_max);
    if (c.held_min >= 0) m.held_min = m.held_min < 0 ? c.held_min : std::min(m.held_min, c.held_min);
    m.seen_max = std::max(m.seen_max, c.seen_max);
    m.receivers += c.receivers;
  }
  for (const auto& e : o.errors)
    if (errors.size() < kMaxListed) errors.push_back(e);
  for (const auto& e : o.problems)
    if (problems.size() < kMaxListed) problems.push_back(e);
  errors_total += o.errors_total;
  problems_total += o.problems_total;
}

json::value Stats::ToJson() const {
  json::object counters_json, hist_json, series_json, convs_json;
  for (const auto& [k, v] : counters) counters_json[k] = v;
  for (const auto& [k, v] : histograms) hist_json[k] = v.ToJson();
  for (const auto& [k, v] : series) series_json[k] = json::value_from(v);
  for (const auto& [id, c] : convs) {
    convs_json[std::to_string(id)] = json::array{c.acked_max, c.held_min, c.seen_max, c.receivers};
  }
  return json::object{{"counters", std::move(counters_json)}, {"histograms", std::move(hist_json)},
                      {"series", std::move(series_json)},     {"convs", std::move(convs_json)},
                      {"errors", json::value_from(errors)},   {"problems", json::value_from(problems)},
                      {"errors_total", errors_total},         {"problems_total", problems_total}};
}

Stats Stats::FromJson(const json::value& v) {
  Stats s;
  const auto& o = v.as_object();
  for (const auto& [k, x] : o.at("counters").as_object()) s.counters[std::string(k)] = x.to_number<int64_t>();
  for (const auto& [k, x] : o.at("histograms").as_object()) s.histograms[std::string(k)] = Histogram::FromJson(x);
  for (const auto& [k, x] : o.at("series").as_object()) {
    std::vector<int64_t> values;
    for (const auto& e : x.as_array()) values.push_back(e.to_number<int64_t>());
    s.series[std::string(k)] = std::move(values);
  }
  for (const auto& [k, x] : o.at("convs").as_object()) {
    const auto& a = x.as_array();
    s.convs[std::stoll(std::string(k))] = ConvCheck{a[0].to_number<int64_t>(), a[1].to_number<int64_t>(),
                                                    a[2].to_number<int64_t>(), a[3].to_number<int64_t>()};
  }
  for (const auto& e : o.at("errors").as_array()) s.errors.emplace_back(e.as_string());
  for (const auto& e : o.at("problems").as_array()) s.problems.emplace_back(e.as_string());
  s.errors_total = o.at("errors_total").to_number<int64_t>();
  s.problems_total = o.at("problems_total").to_number<int64_t>();
  return s;
}

}  // namespace natter::bench
