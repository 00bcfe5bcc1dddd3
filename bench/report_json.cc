#include <boost/json.hpp>

#include "bench/report.h"

namespace natter::bench {

namespace json = boost::json;

json::value ReportJson(const RunContext& ctx, const RunSummary& run, const std::vector<ScenarioReport>& reports) {
  const MachineInfo& m = ctx.machine;
  json::array sources;
  for (const auto& a : ctx.sources) sources.push_back(json::string(a.to_string()));
  json::array scenarios;
  for (const auto& r : reports) {
    json::object figures;
    for (const auto& f : r.figures)
      figures[f.key] = json::object{{"label", f.label}, {"value", f.value}, {"unit", f.unit}};
    json::object latency;
    for (const auto& [name, h] : r.stats.histograms) {
      json::object pct;
      for (double p : {50.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
        char key[16];
        std::snprintf(key, sizeof key, "p%g", p);
        pct[key] = h.Percentile(p);
      }
      latency[name] = json::object{{"unit", "ns"},
                                   {"count", h.count()},
                                   {"mean", h.mean()},
                                   {"percentiles", std::move(pct)},
                                   {"histogram", h.ToJson()}};
    }
    json::object phases;
    for (const auto& [name, p] : r.phases) {
      json::array cpu;
      for (size_t i = 0; i < p.worker_cpu_end.size() && i < p.worker_cpu_start.size(); ++i) {
        cpu.push_back(p.worker_cpu_end[i] - p.worker_cpu_start[i]);
      }
      phases[name] = json::object{{"seconds", p.seconds()},
                                  {"server_cpu_seconds", p.server_cpu()},
                                  {"server_rss_kb_start", p.server_start.rss_kb},
                                  {"server_rss_kb_end", p.server_end.rss_kb},
                                  {"worker_cpu_seconds", std::move(cpu)}};
    }
    json::object counters;
    for (const auto& [k, v] : r.stats.counters) counters[k] = v;
    json::object series;
    for (const auto& [k, v] : r.stats.series) series[k] = json::value_from(v);
    scenarios.push_back(json::object{{"name", r.name},
                                     {"title", r.title},
                                     {"ran", r.ran},
                                     {"seconds", r.seconds},
                                     {"workers", r.workers},
                                     {"parameters", r.parameters},
                                     {"figures", std::move(figures)},
                                     {"latency", std::move(latency)},
                                     {"phases", std::move(phases)},
                                     {"counters", std::move(counters)},
                                     {"per_second", std::move(series)},
                                     {"errors", json::value_from(r.errors)},
                                     {"problems", json::value_from(r.problems)},
                                     {"notes", json::value_from(r.notes)}});
  }
  return json::object{{"tool", "natter-bench"},
                      {"started_utc", run.started_utc},
                      {"commit", run.commit},
                      {"seconds", run.seconds},
                      {"provisioning_seconds", run.provisioning_seconds},
                      {"exit_code", run.exit_code},
                      {"fatal", json::value_from(run.fatal)},
                      {"machine", json::object{{"nproc", m.nproc},
                                               {"mem_total_kb", m.mem_total_kb},
                                               {"kernel", m.kernel},
                                               {"cpu_model", m.cpu_model},
                                               {"load_average_1m_at_start", m.load_average_1m}}},
                      {"limits", json::object{{"rlimit_nofile_soft", m.nofile_soft},
                                              {"rlimit_nofile_hard", m.nofile_hard},
                                              {"max_connections_per_worker", ctx.cfg.max_conns_per_worker},
                                              {"source_addresses", std::move(sources)}}},
                      {"config", ctx.cfg.ToJson()},
                      {"scenarios", std::move(scenarios)}};
}

}  // namespace natter::bench
