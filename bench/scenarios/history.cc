// Scenario 5: random history pages (messages.history, limit 50, a random
// `before`) read by R members of a group in a closed loop while a writer
// keeps posting at a fixed rate. Each page is checked: 50 consecutive seqs
// ending just below `before`.
#include <algorithm>
#include <random>

#include "bench/scenario.h"

namespace natter::bench {

ScenarioReport RunHistory(RunContext& ctx) {
  ScenarioReport report;
  report.name = "history";
  report.title = "History pages under write load";
  const BenchConfig& cfg = ctx.cfg;
  const int readers = std::max(1, cfg.history_readers);
  std::string error;
  std::vector<std::vector<int>> groups(1);
  for (int i = 0; i <= readers; ++i) groups[0].push_back(i);
  std::vector<int64_t> convs;
  if (!ctx.prov->EnsureUsers(ctx.users, readers + 1, error) ||
      !ctx.prov->CreateGroups(ctx.users, groups, convs, error)) {
    report.problems.push_back("provisioning failed: " + error);
    return report;
  }
  const int64_t conv = convs[0];
  report.parameters = {{"readers", readers},
                       {"prefill", cfg.history_prefill},
                       {"write_rate", cfg.history_write_rate},
                       {"seconds", cfg.history_s},
                       {"limit", 50}};
  RunScenarioWorkers(ctx, report, 1, 240 + cfg.history_s + cfg.history_prefill / 500.0, [&](WorkerControl& control) {
    Engine engine(cfg.threads);
    auto clients = MakeClients(engine, ctx, Slice{0, readers + 1}, [](int i) { return i; });
    auto writer = clients[0];
    std::vector<std::shared_ptr<SimClient>> reader_clients(clients.begin() + 1, clients.end());
    engine.Start();
    ConnectAll(engine, ctx, clients, true, 60, "history connect");
    OnEachLoop(engine, reader_clients, [conv](SimClient& c) { c.Expect(conv); });
    SetPhase("prefill");
    SendCount(engine, ctx, writer, {conv}, cfg.history_prefill, 64, 120, "history prefill", control);
    const int64_t known = std::max(1, cfg.history_prefill);  // pages are drawn below this seq
    auto stop = std::make_shared<std::atomic<bool>>(false);
    auto running = std::make_shared<std::atomic<int>>(0);
    SetPhase("reads");
    control.Barrier("start:reads");
    OnEachLoop(engine, reader_clients, [stop, running, known, conv](SimClient& c) {
      running->fetch_add(1);
      auto rng = std::make_shared<std::mt19937_64>(c.index() * 7919 + 1);
      auto next = std::make_shared<std::function<void(SimClient&)>>();
      std::weak_ptr<std::function<void(SimClient&)>> weak = next;
      *next = [stop, running, known, conv, rng, weak](SimClient& c2) {
        auto self = weak.lock();
        if (!self || stop->load() || !c2.open()) {
          running->fetch_sub(1);
          return;
        }
        const int64_t before = std::uniform_int_distribution<int64_t>(2, known + 1)(*rng);
        const int64_t began = NowNs();
        std::string params =
            "\"conversation_id\":" + std::to_string(conv) + ",\"before\":" + std::to_string(before) + ",\"limit\":50";
        c2.Request("messages.history", params, [self, before, began](SimClient& c3, bool ok, std::string_view frame) {
          const int64_t now = NowNs();
          Stats& st = c3.stats();
          if (!ok) {
            st.Add("history_errors");
            if (st.Get("history_errors") <= 3) st.Problem("history refused: " + std::string(frame.substr(0, 200)));
          } else {
            st.Record("reads.history", now - began);
            st.Tick("reads.pages", now);
            st.Add("pages");
            std::vector<int64_t> seqs = SimClient::SeqsIn(frame);
            std::sort(seqs.begin(), seqs.end());
            const int64_t want = std::min<int64_t>(50, before - 1);
            bool good = static_cast<int64_t>(seqs.size()) == want && (seqs.empty() || seqs.back() == before - 1);
            for (size_t i = 1; good && i < seqs.size(); ++i) good = seqs[i] == seqs[i - 1] + 1;
            if (!good) {
              st.Error("history before " + std::to_string(before) + ": got " + std::to_string(seqs.size()) +
                       " messages, not seqs " + std::to_string(before - want) + ".." + std::to_string(before - 1));
            }
          }
          (*self)(c3);
        });
      };
      (*next)(c);
      // The chain keeps itself alive through `self` in each pending request;
      // park one owner on the client so the first link has one too.
      c.on_frame = [next](SimClient&, std::string_view) {};
    });
    RunLoad(engine, ctx, {SenderSpec{writer, conv}}, cfg.history_write_rate, 1, cfg.history_s, 10, "history reads",
            control);
    stop->store(true);
    WaitUntil([&] { return running->load() <= 0; }, 10, "history stop", control);
    control.Barrier("end:reads");
    ReportHeld(engine, reader_clients);
    OnEachLoop(engine, clients, [](SimClient& c) { c.Abort(); });
    engine.Stop();
    return engine.Collect();
  });
  const Stats& s = report.stats;
  const auto& phase = report.phases["reads"];
  const double pages = static_cast<double>(s.Get("pages"));
  report.Add("pages_per_s", "history pages read", phase.seconds() > 0 ? pages / phase.seconds() : 0, "pages/s");
  report.AddLatency("history", "history page (50 messages)", "reads.history");
  report.Add("write_target_per_s", "writes: target", cfg.history_write_rate, "msg/s");
  report.Add("writes_per_s", "writes: acknowledged", static_cast<double>(SeriesTotal(s, "reads.acked")) / cfg.history_s,
             "msg/s");
  report.AddLatency("write_ack", "writes: ack latency (from schedule)", "reads.ack");
  report.AddPhaseCpu("reads", "reads", pages, "history page", cfg.threads);
  report.notes.push_back(
      "readers run a closed loop (one request in flight each), so page latency has no "
      "coordinated-omission correction; the write load is on a fixed schedule");
  CheckDelivery(report, s.Get("unanswered_sends") > 0);
  return report;
}

}  // namespace natter::bench
