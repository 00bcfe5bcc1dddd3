// Scenario 3: one group per size K (100 and 1,000 by default), every member
// online. S members send, first flat out, then at a fixed rate chosen so the
// server makes a fixed number of deliveries a second (25,000 by default).
// Measures deliveries/s, end-to-end latency and server CPU per delivery.
#include <algorithm>

#include <boost/json.hpp>

#include "bench/scenario.h"

namespace natter::bench {

ScenarioReport RunFanout(RunContext& ctx) {
  ScenarioReport report;
  report.name = "fanout";
  report.title = "Group fan-out to online members";
  const BenchConfig& cfg = ctx.cfg;
  std::vector<int> sizes = cfg.group_sizes;
  const int n = *std::max_element(sizes.begin(), sizes.end());
  const int senders = std::max(1, cfg.fanout_senders);
  std::string error;
  std::vector<std::vector<int>> groups;
  for (int k : sizes) {
    std::vector<int> members;
    members.reserve(static_cast<size_t>(k));
    for (int i = 0; i < k; ++i) members.push_back(i);
    groups.push_back(std::move(members));
  }
  std::vector<int64_t> convs;
  if (!ctx.prov->EnsureUsers(ctx.users, n, error) || (cfg.encrypted && !ctx.prov->PublishKeys(ctx.users, n, error)) ||
      !ctx.prov->CreateGroups(ctx.users, groups, convs, error, cfg.encrypted)) {
    report.problems.push_back("provisioning failed: " + error);
    return report;
  }
  report.parameters = {{"group_sizes", boost::json::value_from(sizes)},
                       {"encrypted", cfg.encrypted},
                       {"senders_per_group", senders},
                       {"seconds_per_phase", cfg.fanout_s},
                       {"fixed_deliveries_per_s", cfg.fanout_fixed_deliveries},
                       {"window", cfg.window}};
  const int workers = WorkersFor(cfg, n);
  RunScenarioWorkers(
      ctx, report, workers, 120 + sizes.size() * (2 * cfg.fanout_s + 25) + n / 100.0, [&](WorkerControl& control) {
        Engine engine(cfg.threads);
        auto clients = MakeClients(engine, ctx, SliceOf(n, control), [](int i) { return i; });
        engine.Start();
        ConnectAll(engine, ctx, clients, true, 60, "fanout connect");
        for (size_t g = 0; g < sizes.size(); ++g) {
          const int k = sizes[g];
          const std::string tag = "k" + std::to_string(k);
          std::vector<SenderSpec> specs;
          std::vector<std::shared_ptr<SimClient>> members;
          for (auto& c : clients) {
            if (c->index() >= k) continue;
            members.push_back(c);
            if (c->index() < senders) specs.push_back(SenderSpec{c, convs[g]});
          }
          if (cfg.encrypted) {
            // Each sender names every other member's device (on its own loop).
            std::vector<std::shared_ptr<SimClient>> sending;
            for (const auto& spec : specs) sending.push_back(spec.client);
            OnEachLoop(engine, sending, [&ctx, k, conv = convs[g]](SimClient& sc) {
              boost::json::array devices;
              for (int i = 0; i < k; ++i) {
                if (i == sc.index()) continue;
                devices.push_back(
                    boost::json::object{{"user_id", ctx.users[i].id}, {"device_id", ctx.users[i].device_id}});
              }
              sc.SendEncrypted(conv, boost::json::serialize(devices));
            });
          }
          OnEachLoop(engine, members, [conv = convs[g]](SimClient& sc) { sc.Expect(conv); });
          SetPhase("flat_" + tag);
          control.Barrier("start:flat_" + tag);
          RunLoad(engine, ctx, specs, 0, cfg.window, cfg.fanout_s, 15, "fanout flat " + tag, control);
          control.Barrier("end:flat_" + tag);
          SetPhase("fixed_" + tag);
          control.Barrier("start:fixed_" + tag);
          const double rate = cfg.fanout_fixed_deliveries / std::max(1, k - 1) / senders;
          RunLoad(engine, ctx, specs, rate, 1, cfg.fanout_s, 15, "fanout fixed " + tag, control);
          control.Barrier("end:fixed_" + tag);
        }
        CatchUpAfterResync(engine, clients, 60, control);
        ReportHeld(engine, clients);
        OnEachLoop(engine, clients, [](SimClient& c) { c.Abort(); });
        engine.Stop();
        return engine.Collect();
      });
  const Stats& s = report.stats;
  report.Add("connected", "members connected", static_cast<double>(s.Get("connected")), "");
  for (int k : sizes) {
    const std::string tag = "k" + std::to_string(k);
    for (const std::string mode : {"flat", "fixed"}) {
      std::string phase = mode;
      phase += "_";
      phase += tag;
      const double delivered = static_cast<double>(SeriesTotal(s, phase + ".delivered"));
      const double acked = static_cast<double>(SeriesTotal(s, phase + ".acked"));
      const std::string what = (mode == "flat" ? "flat out, " : "fixed, ") + std::to_string(k) + " members";
      if (mode == "fixed") {
        report.Add(phase + "_target_deliveries_per_s", what + ": target deliveries", cfg.fanout_fixed_deliveries, "/s");
      }
      report.Add(phase + "_sends_per_s", what + ": acknowledged sends", acked / cfg.fanout_s, "msg/s");
      report.Add(phase + "_deliveries_per_s", what + ": deliveries", delivered / cfg.fanout_s, "/s");
      report.AddLatency(phase + "_e2e", what + ": end-to-end", phase + ".e2e");
      report.AddPhaseCpu(phase, phase, delivered, "delivery", cfg.threads);
      report.AddPhaseWritten(phase, phase, acked, "message");
      if (mode == "fixed" && delivered < 0.95 * cfg.fanout_fixed_deliveries * cfg.fanout_s) {
        report.notes.push_back(what + ": target of " + std::to_string(int64_t(cfg.fanout_fixed_deliveries)) +
                               " deliveries/s not reached");
      }
    }
  }
  if (s.Get("resync_notices") > 0) {
    report.notes.push_back(std::to_string(s.Get("resync_notices")) +
                           " slow-consumer notices (the server dropped queued events for clients that read too "
                           "slowly; they pulled the rest by history, " +
                           std::to_string(s.Get("fetched")) + " messages)");
  }
  report.Add("resync_notices", "slow-consumer notices", static_cast<double>(s.Get("resync_notices")), "");
  report.Add("unanswered_sends", "sends without an answer", static_cast<double>(s.Get("unanswered_sends")), "");
  if (s.Get("unanswered_sends") > 0)
    report.problems.push_back(std::to_string(s.Get("unanswered_sends")) + " sends never answered");
  CheckDelivery(report, s.Get("unanswered_sends") > 0);
  return report;
}

}  // namespace natter::bench
