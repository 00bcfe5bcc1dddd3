// Scenario 1: N authenticated WebSocket connections held idle. Measures the
// connect rate and the server's resident memory per connection.
#include <iostream>

#include "bench/frame_fields.h"
#include "bench/scenario.h"

namespace natter::bench {

ScenarioReport RunConnections(RunContext& ctx) {
  ScenarioReport report;
  report.name = "connections";
  report.title = "Idle authenticated connections";
  const BenchConfig& cfg = ctx.cfg;
  const int n = cfg.connections;
  const int group_size = cfg.connections_group_size;
  report.parameters = {{"connections", n}, {"hold_s", cfg.hold_s}, {"group_size", group_size}};
  std::string error;
  if (!ctx.prov->EnsureUsers(ctx.users, n, error)) {
    report.problems.push_back("provisioning failed: " + error);
    return report;
  }
  // Users in groups, so each has contacts who are told when it comes online:
  // the presence traffic of a real connect storm.
  if (group_size > 1) {
    std::vector<std::vector<int>> groups;
    for (int first = 0; first + group_size <= n; first += group_size) {
      groups.emplace_back();
      for (int i = first; i < first + group_size; ++i) groups.back().push_back(i);
    }
    std::vector<int64_t> ids;
    if (!ctx.prov->CreateGroups(ctx.users, groups, ids, error)) {
      report.problems.push_back("provisioning failed: " + error);
      return report;
    }
  }
  const int workers = WorkersFor(cfg, n);
  std::map<std::string, ProcSample> at;
  RunScenarioWorkers(
      ctx, report, workers, 120 + n / 100.0 + cfg.hold_s * 2,
      [&](WorkerControl& control) {
        Engine engine(cfg.threads);
        auto clients = MakeClients(engine, ctx, SliceOf(n, control), [](int i) { return i; });
        for (auto& c : clients) {
          c->on_frame = [](SimClient& self, std::string_view frame) {
            if (FrameType(frame) == "presence") self.stats().Add("presence_frames");
          };
        }
        engine.Start();
        control.Barrier("start:connect");
        ConnectAll(engine, ctx, clients, true, 30 + n / 200.0, "connections");
        control.Barrier("end:connect");
        WaitUntil([] { return false; }, cfg.hold_s, "connections hold", control);
        auto open = std::make_shared<std::atomic<int64_t>>(0);
        OnEachLoop(engine, clients, [open](SimClient& c) {
          if (c.open()) open->fetch_add(1);
        });
        control.Barrier("held");
        OnEachLoop(engine, clients, [](SimClient& c) { c.Abort(); });
        engine.Stop();
        Stats s = engine.Collect();
        s.Add("open_after_hold", open->load());
        return s;
      },
      [&](const std::string& name, double, ScenarioReport&) {
        at[name] = ReadProcs(cfg.server_pids);
        return 0.0;
      });
  const Stats& s = report.stats;
  const double connected = static_cast<double>(s.Get("connected"));
  report.Add("connected", "connections opened", connected, "");
  report.Add("connect_failed", "connections failed", static_cast<double>(s.Get("connect_failed")), "");
  report.Add("open_after_hold", "still open after the hold", static_cast<double>(s.Get("open_after_hold")), "");
  report.Add("presence_frames", "presence frames received", static_cast<double>(s.Get("presence_frames")), "");
  const auto& phase = report.phases["connect"];
  if (phase.seconds() > 0) report.Add("connect_rate", "connect rate", connected / phase.seconds(), "conn/s");
  report.AddLatency("connect", "connect + upgrade + ping", "connect");
  if (cfg.server_pid > 0 && at.count("start:connect") && at.count("held") && at["held"].alive) {
    const double before = static_cast<double>(at["start:connect"].rss_kb),
                 after = static_cast<double>(at["held"].rss_kb);
    report.Add("server_rss_before_mb", "server VmRSS before", before / 1024, "MiB");
    report.Add("server_rss_after_mb", "server VmRSS with all connected", after / 1024, "MiB");
    if (connected > 0) {
      report.Add("server_bytes_per_conn", "server memory per idle connection", (after - before) * 1024 / connected,
                 "B");
    }
    report.notes.push_back(
        "memory per connection is the VmRSS growth of the server process; the kernel's socket "
        "buffers (about 3.9 KB per idle TCP socket here) are not part of it");
  } else if (cfg.server_pid <= 0) {
    report.notes.push_back("no --server-pid: server memory not measured");
  }
  if (s.Get("open_after_hold") < s.Get("connected")) {
    report.problems.push_back(std::to_string(s.Get("connected") - s.Get("open_after_hold")) +
                              " connections closed during the idle hold");
  }
  report.AddPhaseCpu("connect", "connect", connected, "connection", cfg.threads);
  return report;
}

}  // namespace natter::bench
