// Scenario 6: N clients connected and synced; all drop at once (TCP closed
// under them, as when a network or a server node goes away), then all come
// back: new connection, re-authentication with an `auth` frame, sync with
// their last token. Time until all are back and synced, and the errors.
#include <algorithm>

#include "bench/scenario.h"

namespace natter::bench {

ScenarioReport RunReconnect(RunContext& ctx) {
  ScenarioReport report;
  report.name = "reconnect";
  report.title = "Reconnect storm";
  const BenchConfig& cfg = ctx.cfg;
  const int n = cfg.reconnect_clients;
  std::string error;
  if (!ctx.prov->EnsureUsers(ctx.users, n, error)) {
    report.problems.push_back("provisioning failed: " + error);
    return report;
  }
  const int workers = WorkersFor(cfg, n);
  report.parameters = {{"clients", n}};
  const int storm_concurrency = std::max(cfg.connect_concurrency, 1024);
  RunScenarioWorkers(ctx, report, workers, 240 + n / 50.0, [&](WorkerControl& control) {
    Engine engine(cfg.threads);
    auto clients = MakeClients(engine, ctx, SliceOf(n, control), [](int i) { return i; });
    engine.Start();
    auto sync_after = [](SimClient& c, const std::function<void(const std::string&)>& done) {
      c.Sync([done](SimClient&, const std::string& e) { done(e); });
    };
    ConnectAll(engine, ctx, clients, true, 60 + n / 100.0, "reconnect setup", sync_after, 0, "setup");
    SetPhase("storm");
    control.Barrier("start:storm");
    OnEachLoop(engine, clients, [](SimClient& c) { c.Abort(); });
    ConnectAll(engine, ctx, clients, false, 60 + n / 100.0, "reconnect storm", sync_after, storm_concurrency,
               "storm.back");
    control.Barrier("end:storm");
    OnEachLoop(engine, clients, [](SimClient& c) { c.Abort(); });
    engine.Stop();
    return engine.Collect();
  });
  const Stats& s = report.stats;
  const auto& phase = report.phases["storm"];
  const int64_t back = s.histograms.count("storm.back") ? s.histograms.at("storm.back").count() : 0;
  report.Add("clients", "clients", n, "");
  report.Add("back", "back and synced", static_cast<double>(back), "");
  report.Add("all_back_s", "time until all back and synced", phase.seconds(), "s");
  report.AddLatency("per_client", "per-client reconnect + auth + sync", "storm.back");
  report.Add("failed", "failed (connect, auth or sync)", static_cast<double>(s.Get("connect_failed")), "");
  report.AddPhaseCpu("storm", "storm", static_cast<double>(back), "reconnect", cfg.threads);
  report.notes.push_back("at most " + std::to_string(storm_concurrency) +
                         " reconnects in flight per worker process (like a client population with jittered retry)");
  if (back < n) report.problems.push_back(std::to_string(n - back) + " clients did not come back");
  return report;
}

}  // namespace natter::bench
