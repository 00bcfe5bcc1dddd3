// Scenario 2: P pairs of users exchange messages in their direct
// conversations. First flat out (each client keeps `window` sends in flight)
// to find the peak acknowledged rate, then at a fixed total rate (75% of
// that peak unless --direct-rate is given) with latency measured from each
// send's scheduled time.
#include <cmath>

#include "bench/scenario.h"

namespace natter::bench {

ScenarioReport RunDirect(RunContext& ctx) {
  ScenarioReport report;
  report.name = "direct";
  report.title = "1:1 messages, acknowledged and delivered";
  const BenchConfig& cfg = ctx.cfg;
  const int pairs = cfg.pairs;
  const int n = 2 * pairs;
  std::string error;
  std::vector<int64_t> convs;
  std::vector<std::pair<int, int>> pair_users;
  pair_users.reserve(static_cast<size_t>(pairs));
  for (int i = 0; i < pairs; ++i) pair_users.emplace_back(2 * i, 2 * i + 1);
  if (!ctx.prov->EnsureUsers(ctx.users, n, error) || !ctx.prov->CreateDirect(ctx.users, pair_users, convs, error)) {
    report.problems.push_back("provisioning failed: " + error);
    return report;
  }
  const int workers = WorkersFor(cfg, n);
  double fixed_rate = cfg.direct_rate;
  report.parameters = {
      {"pairs", pairs}, {"seconds_per_phase", cfg.direct_s}, {"window", cfg.window}, {"text_bytes", cfg.text_bytes}};
  RunScenarioWorkers(
      ctx, report, workers, 120 + 3 * cfg.direct_s + n / 100.0,
      [&](WorkerControl& control) {
        Engine engine(cfg.threads);
        auto clients = MakeClients(engine, ctx, SliceOf(n, control), [](int i) { return i; });
        std::vector<SenderSpec> senders;
        for (auto& c : clients) {
          c->Expect(convs[c->index() / 2]);
          senders.push_back(SenderSpec{c, convs[c->index() / 2]});
        }
        engine.Start();
        ConnectAll(engine, ctx, clients, true, 60, "direct connect");
        SetPhase("flat");
        control.Barrier("start:flat");
        const int64_t acked0 = g_progress.acked.load();
        RunLoad(engine, ctx, senders, 0, cfg.window, cfg.direct_s, 10, "direct flat", control);
        const double rate = control.Barrier("end:flat", static_cast<double>(g_progress.acked.load() - acked0));
        SetPhase("fixed");
        control.Barrier("start:fixed");
        RunLoad(engine, ctx, senders, rate / n, 1, cfg.direct_s, 10, "direct fixed", control);
        control.Barrier("end:fixed");
        // A receiver told to resync (the server dropped events it read too
        // slowly) pulls the rest, as an app would, before it is checked.
        CatchUpAfterResync(engine, clients, 60, control);
        ReportHeld(engine, clients);
        OnEachLoop(engine, clients, [](SimClient& c) { c.Abort(); });
        engine.Stop();
        return engine.Collect();
      },
      [&](const std::string& name, double sum, ScenarioReport& r) {
        if (name != "end:flat") return 0.0;
        const double seconds = (r.phases["flat"].end_ns - r.phases["flat"].start_ns) / 1e9;
        const double peak = seconds > 0 ? sum / cfg.direct_s : 0;
        if (fixed_rate <= 0) fixed_rate = std::max(1.0, std::floor(0.75 * peak));
        return fixed_rate;
      });
  const Stats& s = report.stats;
  report.Add("connected", "clients connected", static_cast<double>(s.Get("connected")), "");
  const double flat_acked = static_cast<double>(SeriesTotal(s, "flat.acked"));
  const double fixed_acked = static_cast<double>(SeriesTotal(s, "fixed.acked"));
  report.Add("flat_acked_per_s", "flat out: acknowledged sends", flat_acked / cfg.direct_s, "msg/s");
  report.Add("flat_delivered_per_s", "flat out: deliveries",
             static_cast<double>(SeriesTotal(s, "flat.delivered")) / cfg.direct_s, "msg/s");
  report.AddLatency("flat_ack", "flat out: ack latency", "flat.ack");
  report.AddLatency("flat_e2e", "flat out: end-to-end latency", "flat.e2e");
  report.AddPhaseCpu("flat", "flat_ack", flat_acked, "acknowledged send", cfg.threads);
  report.AddPhaseWritten("flat", "flat_ack", flat_acked, "acknowledged send");
  report.Add("fixed_target_per_s", "fixed: target rate", fixed_rate, "msg/s");
  report.Add("fixed_acked_per_s", "fixed: acknowledged sends", fixed_acked / cfg.direct_s, "msg/s");
  report.AddLatency("fixed_ack", "fixed: ack latency (from schedule)", "fixed.ack");
  report.AddLatency("fixed_e2e", "fixed: end-to-end latency (from schedule)", "fixed.e2e");
  report.AddPhaseCpu("fixed", "fixed_ack", fixed_acked, "acknowledged send", cfg.threads);
  if (fixed_acked < 0.95 * fixed_rate * cfg.direct_s) {
    report.notes.push_back("fixed phase: the target rate was not reached (" +
                           std::to_string(static_cast<int64_t>(fixed_acked / cfg.direct_s)) + " of " +
                           std::to_string(static_cast<int64_t>(fixed_rate)) + " msg/s acknowledged)");
  }
  if (s.Get("late_sends") > 0) {
    report.notes.push_back(
        std::to_string(s.Get("late_sends")) +
        " fixed-rate sends left more than 1 ms after their scheduled time (counted from the schedule)");
  }
  report.Add("send_errors", "sends refused", static_cast<double>(s.Get("send_errors")), "");
  report.Add("unanswered_sends", "sends without an answer", static_cast<double>(s.Get("unanswered_sends")), "");
  if (s.Get("unanswered_sends") > 0)
    report.problems.push_back(std::to_string(s.Get("unanswered_sends")) + " sends never answered");
  CheckDelivery(report, s.Get("unanswered_sends") > 0);
  return report;
}

}  // namespace natter::bench
