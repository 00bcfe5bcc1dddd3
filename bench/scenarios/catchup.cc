// Scenario 4: clients go offline while M messages land in C conversations,
// then reconnect and sync with their last token. Time until every client
// holds every message: the sync answer plus the gaps fetched by history.
#include <algorithm>
#include <mutex>

#include "bench/frame_fields.h"
#include "bench/scenario.h"

namespace natter::bench {

ScenarioReport RunCatchup(RunContext& ctx) {
  ScenarioReport report;
  report.name = "catchup";
  report.title = "Catch-up after being offline";
  const BenchConfig& cfg = ctx.cfg;
  const int readers = std::max(1, cfg.catchup_clients);
  const int c_count = std::max(1, cfg.catchup_conversations);
  const int64_t m = std::max(1, cfg.catchup_messages);
  // Users: the writer is user 0, readers are users 1..R; each conversation is
  // a group of all of them, owned by the writer.
  std::string error;
  std::vector<std::vector<int>> groups(c_count);
  for (auto& g : groups)
    for (int i = 0; i <= readers; ++i) g.push_back(i);
  std::vector<int64_t> convs;
  if (!ctx.prov->EnsureUsers(ctx.users, readers + 1, error) ||
      !ctx.prov->CreateGroups(ctx.users, groups, convs, error)) {
    report.problems.push_back("provisioning failed: " + error);
    return report;
  }
  report.parameters = {{"clients", readers}, {"conversations", c_count}, {"messages", m}};
  RunScenarioWorkers(ctx, report, 1, 300 + m / 200.0, [&](WorkerControl& control) {
    Engine engine(cfg.threads);
    auto clients = MakeClients(engine, ctx, Slice{0, readers + 1}, [](int i) { return i; });
    auto writer = clients[0];
    std::vector<std::shared_ptr<SimClient>> reader_clients(clients.begin() + 1, clients.end());
    engine.Start();
    // First sync (no token), as an installed app has done before going away.
    ConnectAll(engine, ctx, clients, true, 60, "catchup connect",
               [](SimClient& c, const std::function<void(const std::string&)>& done) {
                 c.Sync([done](SimClient&, const std::string& e) { done(e); });
               });
    OnEachLoop(engine, reader_clients, [convs](SimClient& c) {
      for (int64_t conv : convs) c.Expect(conv);
      c.Abort();  // offline
    });
    SetPhase("offline_writes");
    SendCount(engine, ctx, writer, convs, m, 64, 120, "catchup writes", control);
    // Reconnect and sync: every sync.conversation frame brings the newest
    // page and names the gap to fetch.
    struct ReaderState {
      int64_t began = 0;
      int64_t pending = 1;  // the sync answer itself
      bool answered = false;
    };
    auto remaining = std::make_shared<std::atomic<int64_t>>(readers);
    SetPhase("catchup");
    control.Barrier("start:catchup");
    OnEachLoop(engine, reader_clients, [remaining](SimClient& c) {
      auto st = std::make_shared<ReaderState>();
      st->began = NowNs();
      auto finish_one = [st, remaining](SimClient& c2) {
        if (--st->pending > 0) return;
        c2.stats().Record("catchup.client", NowNs() - st->began);
        c2.stats().Add("clients_caught_up");
        remaining->fetch_sub(1);
      };
      c.on_frame = [st, finish_one](SimClient& c2, std::string_view frame) {
        if (FrameType(frame) != "sync.conversation") return;
        int64_t conv = 0;
        if (!FindInt(frame, "\"conversation_id\":", conv)) return;
        const size_t events_at = frame.find("\"events\":");
        const size_t gap_at = frame.find("\"gap\":");
        std::string_view events =
            frame.substr(events_at == std::string_view::npos ? frame.size() : events_at,
                         gap_at == std::string_view::npos ? std::string_view::npos : gap_at - events_at);
        int64_t from_page = 0;
        for (int64_t seq : SimClient::SeqsIn(events)) {
          ++from_page;
          if (!c2.MarkFetched(conv, seq)) {
            c2.stats().Add("catchup_duplicates");
            c2.stats().Error("conversation " + std::to_string(conv) + " seq " + std::to_string(seq) +
                             " came twice in the catch-up");
          }
        }
        c2.stats().Add("catchup_from_sync_page", from_page);
        int64_t gap_from = 0, gap_to = 0;
        if (gap_at != std::string_view::npos && FindInt(frame, "\"from\":", gap_from, gap_at) &&
            FindInt(frame, "\"to\":", gap_to, gap_at)) {
          ++st->pending;
          c2.stats().Add("catchup_gaps");
          c2.FetchRange(conv, gap_from - 1, gap_to, [finish_one](SimClient& c3, const std::string& e) {
            if (!e.empty()) c3.stats().Problem("gap fetch: " + e);
            finish_one(c3);
          });
        }
      };
      c.Connect(10000, true, [st, finish_one](SimClient& c2, const std::string& error) {
        if (!error.empty()) {
          c2.stats().Problem("reconnect: " + error);
          return finish_one(c2);
        }
        c2.Sync([finish_one](SimClient& c3, const std::string& e) {
          if (!e.empty()) c3.stats().Problem(e);
          finish_one(c3);
        });
      });
    });
    WaitUntil([&] { return remaining->load() <= 0; }, 120, "catchup sync", control);
    control.Barrier("end:catchup");
    if (remaining->load() > 0) {
      OnEachLoop(engine, {writer}, [n = remaining->load()](SimClient& c) {
        c.stats().Problem(std::to_string(n) + " clients had not caught up after 120 s");
      });
    }
    ReportHeld(engine, reader_clients);
    OnEachLoop(engine, clients, [](SimClient& c) { c.Abort(); });
    engine.Stop();
    return engine.Collect();
  });
  const Stats& s = report.stats;
  const auto& phase = report.phases["catchup"];
  report.Add("messages_missed", "messages sent while offline", static_cast<double>(s.Get("acked")), "");
  report.Add("all_caught_up_s", "time until every client caught up", phase.seconds(), "s");
  report.AddLatency("catchup_client", "per-client catch-up", "catchup.client");
  report.Add("clients_caught_up", "clients caught up", static_cast<double>(s.Get("clients_caught_up")), "");
  report.Add("from_sync_pages", "messages in sync pages", static_cast<double>(s.Get("catchup_from_sync_page")), "");
  report.Add("gaps", "gaps fetched by history", static_cast<double>(s.Get("catchup_gaps")), "");
  report.Add("fetched", "messages fetched by history", static_cast<double>(s.Get("fetched")), "");
  report.AddLatency("offline_ack", "writes while offline: ack latency", "offline_writes.ack");
  report.AddPhaseCpu("catchup", "catchup", static_cast<double>(s.Get("acked")) * readers, "message caught up",
                     cfg.threads);
  report.notes.push_back("the phase time includes each reader's reconnect (upgrade, ping) before its sync");
  CheckDelivery(report, false);
  return report;
}

}  // namespace natter::bench
