// Shared scenario machinery: coordinator-side sampling and checks, and the
// worker-side connect, wait and send-schedule helpers.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <thread>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "bench/scenario.h"

namespace natter::bench {

namespace asio = boost::asio;

double PhaseSample::max_worker_cpu_pct() const {
  double best = 0;
  for (size_t i = 0; i < worker_cpu_end.size() && i < worker_cpu_start.size(); ++i) {
    best = std::max(best, worker_cpu_end[i] - worker_cpu_start[i]);
  }
  return seconds() > 0 ? 100.0 * best / seconds() : 0;
}

double ScenarioReport::Get(const std::string& key) const {
  for (const auto& f : figures)
    if (f.key == key) return f.value;
  return std::nan("");
}

void ScenarioReport::AddLatency(const std::string& key, const std::string& label, const std::string& hist) {
  auto it = stats.histograms.find(hist);
  if (it == stats.histograms.end() || it->second.count() == 0) {
    notes.push_back(label + ": no samples");
    return;
  }
  const Histogram& h = it->second;
  const std::pair<const char*, double> points[] = {{"p50", 50}, {"p90", 90}, {"p99", 99}, {"p99_9", 99.9}};
  for (const auto& [name, p] : points) Add(key + "_" + name + "_ms", label + " " + name, h.Percentile(p) / 1e6, "ms");
  Add(key + "_max_ms", label + " max", h.max() / 1e6, "ms");
  Add(key + "_samples", label + " samples", static_cast<double>(h.count()), "");
}

void ScenarioReport::AddPhaseCpu(const std::string& phase, const std::string& key, double events,
                                 const std::string& per_what, int threads_per_worker) {
  auto it = phases.find(phase);
  if (it == phases.end()) return;
  const PhaseSample& p = it->second;
  if (p.server_start.alive && p.server_end.alive && events > 0) {
    Add(key + "_server_cpu_us", "server CPU per " + per_what, p.server_cpu() / events * 1e6, "us");
    Add(key + "_server_cpu_pct", "server CPU in " + phase, 100.0 * p.server_cpu() / std::max(1e-9, p.seconds()),
        "% of a core");
  }
  const auto [thread, thread_pct] = BusiestThread(p.server_start, p.server_end, p.seconds());
  if (!thread.empty() && p.seconds() >= 0.5) {
    Add(key + "_server_busiest_thread_pct", "busiest server thread in " + phase, thread_pct, "% of a core");
    if (thread_pct > 85) {
      notes.push_back("server bound in " + phase + ": its thread " + thread + " used " +
                      std::to_string(static_cast<int>(thread_pct)) + "% of a core");
    } else {
      notes.push_back("busiest server thread in " + phase + ": " + thread + ", " +
                      std::to_string(static_cast<int>(thread_pct)) + "% of a core");
    }
  }
  const double bench_pct = p.max_worker_cpu_pct();
  Add(key + "_bench_cpu_pct", "busiest bench worker CPU in " + phase, bench_pct, "% of a core");
  if (bench_pct > 85.0 * threads_per_worker) {
    notes.push_back("generator bound in " + phase + ": a bench worker used " + std::to_string(int(bench_pct)) +
                    "% of a core (" + std::to_string(threads_per_worker) +
                    " loop(s) per worker); the server may have had more to give");
  }
}

void ScenarioReport::AddPhaseWritten(const std::string& phase, const std::string& key, double events,
                                     const std::string& per_what) {
  auto it = phases.find(phase);
  if (it == phases.end() || events <= 0) return;
  const PhaseSample& p = it->second;
  if (!p.server_start.alive || !p.server_end.alive) return;
  // Write amplification: all the server sent to storage (log, checkpoints, database), per event.
  const double written = static_cast<double>(p.server_end.write_bytes - p.server_start.write_bytes);
  Add(key + "_server_written_kib", "server bytes written to storage per " + per_what, written / events / 1024, "KiB");
}

int WorkersFor(const BenchConfig& cfg, int clients) {
  if (cfg.workers > 0) return cfg.workers;
  return std::max(1, (clients + cfg.max_conns_per_worker - 1) / cfg.max_conns_per_worker);
}

void RunScenarioWorkers(RunContext& ctx, ScenarioReport& report, int workers, double deadline_s,
                        const std::function<Stats(WorkerControl&)>& body,
                        const std::function<double(const std::string&, double, ScenarioReport&)>& on_barrier) {
  report.workers = workers;
  bool server_gone = false;
  g_series_epoch_ns = NowNs();
  const int64_t start = g_series_epoch_ns;
  PoolOutcome outcome = RunWorkers(workers, deadline_s, body, [&](const std::string& name, double sum) {
    ProcSample s = ReadProcs(ctx.cfg.server_pids, true);
    if (name.rfind("start:", 0) == 0) {
      auto& p = report.phases[name.substr(6)];
      p.start_ns = s.at_ns;
      p.server_start = s;
    } else if (name.rfind("end:", 0) == 0) {
      auto& p = report.phases[name.substr(4)];
      p.end_ns = s.at_ns;
      p.server_end = s;
    }
    if (ctx.cfg.server_pid > 0 && !s.alive && !server_gone) {
      server_gone = true;
      report.problems.push_back("a server process is gone (at " + name + ")");
    }
    return on_barrier ? on_barrier(name, sum, report) : 0.0;
  });
  for (const auto& b : outcome.barriers) {
    if (b.name.rfind("start:", 0) == 0) report.phases[b.name.substr(6)].worker_cpu_start = b.worker_cpu;
    if (b.name.rfind("end:", 0) == 0) report.phases[b.name.substr(4)].worker_cpu_end = b.worker_cpu;
  }
  report.stats = std::move(outcome.merged);
  for (auto& f : outcome.failures) report.problems.push_back(f);
  // A few examples; the total says how many.
  for (size_t i = 0; i < report.stats.problems.size() && i < 10; ++i)
    report.problems.push_back(report.stats.problems[i]);
  if (report.stats.Get("disconnects") > 0) {
    report.problems.push_back(std::to_string(report.stats.Get("disconnects")) + " connections dropped unexpectedly");
  }
  if (report.stats.problems_total > 10) {
    report.problems.push_back("... " + std::to_string(report.stats.problems_total) + " problems in all");
  }
  for (size_t i = 0; i < report.stats.errors.size() && i < 20; ++i) report.errors.push_back(report.stats.errors[i]);
  if (report.stats.errors_total > 20) {
    report.errors.push_back("... " + std::to_string(report.stats.errors_total) + " errors in all");
  }
  report.seconds = (NowNs() - start) / 1e9;
  report.ran = true;
}

int64_t SeriesTotal(const Stats& stats, const std::string& name) {
  auto it = stats.series.find(name);
  if (it == stats.series.end()) return 0;
  int64_t total = 0;
  for (int64_t v : it->second) total += v;
  return total;
}

void CheckDelivery(ScenarioReport& report, bool unanswered_sends_possible) {
  // Live delivery is best effort across a dropped connection (the client is
  // meant to catch up afterwards), so after unexpected drops a missing seq is
  // reported as a problem of the run, not as a server error.
  const bool dropped = report.stats.Get("disconnects") > 0;
  auto& loss_list = dropped ? report.problems : report.errors;
  int64_t lost_convs = 0, lost_msgs = 0, extra = 0;
  for (const auto& [conv, c] : report.stats.convs) {
    if (c.receivers == 0) continue;
    const int64_t held = std::max<int64_t>(c.held_min, 0);
    if (held < c.acked_max) {
      ++lost_convs;
      lost_msgs += c.acked_max - held;
      if (lost_convs <= 10) {
        loss_list.push_back(std::string(dropped ? "not delivered before the connections dropped: " : "loss: ") +
                            "conversation " + std::to_string(conv) + " acknowledged up to seq " +
                            std::to_string(c.acked_max) + " but a receiver holds only 1.." + std::to_string(held));
      }
    }
    if (c.seen_max > c.acked_max) extra += c.seen_max - c.acked_max;
  }
  if (lost_convs > 10)
    loss_list.push_back("missing messages in " + std::to_string(lost_convs) + " conversations in all");
  report.Add("lost_messages", "acknowledged messages missing at a receiver", static_cast<double>(lost_msgs), "");
  if (extra > 0) {
    (unanswered_sends_possible ? report.notes : report.errors)
        .push_back(std::to_string(extra) + " delivered seqs beyond the last acknowledged one" +
                   (unanswered_sends_possible ? " (sends whose answer never came)" : ""));
  }
}

// ---- Worker side --------------------------------------------------------

Slice SliceOf(int total, const WorkerControl& control) {
  Slice s;
  s.begin = static_cast<int>(int64_t{total} * control.index() / control.count());
  s.end = static_cast<int>(int64_t{total} * (control.index() + 1) / control.count());
  return s;
}

std::vector<std::shared_ptr<SimClient>> MakeClients(Engine& engine, const RunContext& ctx, Slice slice,
                                                    const std::function<int(int)>& user_of) {
  std::vector<std::shared_ptr<SimClient>> clients;
  clients.reserve(slice.size());
  for (int i = slice.begin; i < slice.end; ++i) {
    WsClient::Target t;
    t.server = ctx.servers[i % ctx.servers.size()];
    t.source = ctx.sources.empty() ? boost::asio::ip::address() : ctx.sources[i % ctx.sources.size()];
    t.host = t.server.address().to_string() + ":" + std::to_string(t.server.port());
    clients.push_back(std::make_shared<SimClient>(engine, i % engine.threads(), i, &ctx.users[user_of(i)], t));
    clients.back()->ReplyEvery(ctx.cfg.reply_every);
  }
  return clients;
}

bool WaitUntil(const std::function<bool()>& done, double timeout_s, const std::string& label,
               const WorkerControl& control) {
  const int64_t start = NowNs();
  int64_t next_print = start + 1'000'000'000;
  int64_t last_sent = g_progress.sent.load(), last_delivered = g_progress.delivered.load();
  while (!done()) {
    const int64_t now = NowNs();
    if (now - start > static_cast<int64_t>(timeout_s * 1e9)) return false;
    if (now >= next_print) {
      const int64_t sent = g_progress.sent.load(), delivered = g_progress.delivered.load();
      std::fprintf(
          stderr, "[%s w%d] %.0fs conns %lld (failed %lld) sent %lld/s delivered %lld/s acked %lld errors %lld\n",
          label.c_str(), control.index(), (now - start) / 1e9, static_cast<long long>(g_progress.connected.load()),
          static_cast<long long>(g_progress.connect_failed.load()), static_cast<long long>(sent - last_sent),
          static_cast<long long>(delivered - last_delivered), static_cast<long long>(g_progress.acked.load()),
          static_cast<long long>(g_progress.errors.load()));
      last_sent = sent;
      last_delivered = delivered;
      next_print += 1'000'000'000;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

void OnEachLoop(Engine& engine, const std::vector<std::shared_ptr<SimClient>>& clients,
                const std::function<void(SimClient&)>& fn) {
  auto remaining = std::make_shared<std::atomic<int64_t>>(static_cast<int64_t>(clients.size()));
  for (const auto& c : clients) {
    asio::post(c->io(), [c, fn, remaining] {
      fn(*c);
      remaining->fetch_sub(1);
    });
  }
  const int64_t deadline = NowNs() + 30'000'000'000;
  while (remaining->load() > 0 && NowNs() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void ConnectAll(Engine& engine, const RunContext& ctx, const std::vector<std::shared_ptr<SimClient>>& clients,
                bool bearer, double timeout_s, const std::string& label, const AfterConnect& after, int concurrency,
                const std::string& hist) {
  struct LoopQueue {
    std::vector<std::shared_ptr<SimClient>> todo;
    size_t next = 0;
  };
  auto queues = std::make_shared<std::vector<LoopQueue>>(engine.threads());
  for (const auto& c : clients) (*queues)[c->loop()].todo.push_back(c);
  auto done = std::make_shared<std::atomic<int64_t>>(0);
  const int per_loop = std::max(1, (concurrency > 0 ? concurrency : ctx.cfg.connect_concurrency) / engine.threads());
  const int timeout_ms = ctx.cfg.timeout_ms;
  // Each completion starts the next connect of the same loop.
  auto start_next = std::make_shared<std::function<void(int)>>();
  std::weak_ptr<std::function<void(int)>> weak_next = start_next;
  *start_next = [queues, done, timeout_ms, bearer, after, hist, weak_next](int loop) {
    LoopQueue& q = (*queues)[loop];
    if (q.next >= q.todo.size()) return;
    auto client = q.todo[q.next++];
    const int64_t began = NowNs();
    auto finish = [done, began, loop, weak_next, hist](SimClient& c, const std::string& error) {
      Stats& st = c.stats();
      if (error.empty()) {
        st.Add("connected");
        st.Record(hist, NowNs() - began);
        st.Tick("connected", NowNs());
        g_progress.connected.fetch_add(1);
      } else {
        st.Add("connect_failed");
        g_progress.connect_failed.fetch_add(1);
        st.Problem("client " + std::to_string(c.index()) + " could not connect: " + error);
      }
      done->fetch_add(1);
      if (auto next = weak_next.lock()) (*next)(loop);
    };
    client->Connect(timeout_ms, bearer, [after, finish](SimClient& c, const std::string& error) {
      if (!error.empty() || !after) return finish(c, error);
      after(c, [&c, finish, self = c.shared_from_this()](const std::string& e) { finish(c, e); });
    });
  };
  for (int loop = 0; loop < engine.threads(); ++loop) {
    asio::post(engine.io(loop), [start_next, loop, per_loop] {
      for (int k = 0; k < per_loop; ++k) (*start_next)(loop);
    });
  }
  const int64_t total = static_cast<int64_t>(clients.size());
  WaitUntil([&] { return done->load() >= total; }, timeout_s, label, WorkerControl(g_worker_index, 1, -1, -1));
  if (done->load() < total) {
    OnEachLoop(engine, {clients.front()}, [n = total - done->load(), label](SimClient& c) {
      c.stats().Add("connect_timeouts", n);
      c.stats().Problem(label + ": " + std::to_string(n) + " connects still unfinished at the timeout");
    });
  }
}

void SendCount(Engine& engine, const RunContext& ctx, const std::shared_ptr<SimClient>& client,
               const std::vector<int64_t>& conversations, int64_t count, int window, double timeout_s,
               const std::string& label, const WorkerControl& control) {
  struct State {
    int64_t issued = 0, answered = 0;
    std::atomic<bool> done{false};
  };
  auto state = std::make_shared<State>();
  const int text_bytes = ctx.cfg.text_bytes;
  auto pump = std::make_shared<std::function<void(SimClient&)>>();
  std::weak_ptr<std::function<void(SimClient&)>> weak = pump;
  *pump = [state, conversations, count, window, text_bytes, weak](SimClient& c) {
    while (state->issued < count && c.sends_outstanding() < window && c.open()) {
      const int64_t conv = conversations[state->issued % conversations.size()];
      ++state->issued;
      c.SendMessage(conv, NowNs(), text_bytes, [state, count, weak](SimClient& c2, bool, std::string_view) {
        if (++state->answered >= count) state->done.store(true);
        if (auto p = weak.lock()) (*p)(c2);
      });
    }
    if (!c.open()) state->done.store(true);
  };
  asio::post(client->io(), [client, pump] { (*pump)(*client); });
  if (!WaitUntil([&] { return state->done.load(); }, timeout_s, label, control)) {
    OnEachLoop(engine, {client},
               [label](SimClient& c) { c.stats().Problem(label + ": sends not all answered in time"); });
  }
  OnEachLoop(engine, {client}, [pump](SimClient&) {});  // the last use of pump is on the loop
}

void CatchUpAfterResync(Engine& engine, const std::vector<std::shared_ptr<SimClient>>& clients, double timeout_s,
                        const WorkerControl& control) {
  auto pending = std::make_shared<std::atomic<int64_t>>(0);
  OnEachLoop(engine, clients, [pending](SimClient& c) {
    if (c.resyncs == 0) return;
    for (const auto& [conv, tracker] : c.all_held()) {
      pending->fetch_add(1);
      c.FetchRange(conv, tracker.Prefix(), -1, [pending](SimClient& c2, const std::string& error) {
        if (!error.empty()) c2.stats().Problem("catch-up after resync: " + error);
        pending->fetch_sub(1);
      });
    }
  });
  WaitUntil([&] { return pending->load() <= 0; }, timeout_s, "resync catch-up", control);
}

void ReportHeld(Engine& engine, const std::vector<std::shared_ptr<SimClient>>& clients) {
  OnEachLoop(engine, clients, [](SimClient& c) { c.Report(c.stats()); });
}

namespace {

struct SenderState {
  std::shared_ptr<SimClient> client;
  int64_t conversation = 0;
  int64_t next_ns = 0;
  int64_t interval_ns = 0;
};

struct LoadRun : std::enable_shared_from_this<LoadRun> {
  int64_t end_ns = 0;
  bool flat = false;
  int window = 1;
  int text_bytes = 64;
  std::vector<std::vector<std::unique_ptr<SenderState>>> by_loop;
  std::vector<std::unique_ptr<asio::steady_timer>> timers;

  void Pump(SenderState& s, int64_t now) {
    if (!s.client->open()) return;
    if (flat) {
      while (now < end_ns && s.client->sends_outstanding() < window && s.client->open()) {
        auto self = shared_from_this();
        SenderState* sp = &s;
        s.client->SendMessage(s.conversation, now, text_bytes,
                              [self, sp](SimClient&, bool, std::string_view) { self->Pump(*sp, NowNs()); });
      }
      return;
    }
    // Fixed rate: every send due by now goes out stamped with its scheduled
    // time; a stall delays them but never drops them from the schedule.
    while (s.next_ns <= now && s.next_ns < end_ns && s.client->open()) {
      if (s.client->sends_outstanding() >= 4096) {
        s.client->stats().Add("schedule_backlog_stalls");
        break;
      }
      if (now - s.next_ns > 1'000'000) s.client->stats().Add("late_sends");
      s.client->SendMessage(s.conversation, s.next_ns, text_bytes);
      s.next_ns += s.interval_ns;
    }
  }

  void Tick(int loop) {
    const int64_t now = NowNs();
    for (auto& s : by_loop[loop]) Pump(*s, now);
    if (now >= end_ns) return;
    auto& timer = *timers[loop];
    timer.expires_after(std::chrono::microseconds(flat ? 20000 : 500));
    timer.async_wait([self = shared_from_this(), loop](boost::system::error_code ec) {
      if (!ec) self->Tick(loop);
    });
  }
};

}  // namespace

void RunLoad(Engine& engine, const RunContext& ctx, const std::vector<SenderSpec>& senders, double rate_per_sender,
             int window, double seconds, double drain_s, const std::string& label, const WorkerControl& control) {
  auto run = std::make_shared<LoadRun>();
  const int64_t start = NowNs();
  run->end_ns = start + static_cast<int64_t>(seconds * 1e9);
  run->flat = rate_per_sender <= 0;
  run->window = std::max(1, window);
  run->text_bytes = ctx.cfg.text_bytes;
  run->by_loop.resize(engine.threads());
  const int64_t interval = run->flat ? 0 : static_cast<int64_t>(1e9 / rate_per_sender);
  for (size_t i = 0; i < senders.size(); ++i) {
    auto s = std::make_unique<SenderState>();
    s->client = senders[i].client;
    s->conversation = senders[i].conversation;
    s->interval_ns = interval;
    // Spread the first sends over one interval so senders do not send in lockstep.
    s->next_ns = start + (interval > 0 ? static_cast<int64_t>(interval * (i + 0.5) / senders.size()) : 0);
    run->by_loop[senders[i].client->loop()].push_back(std::move(s));
  }
  for (int loop = 0; loop < engine.threads(); ++loop) {
    run->timers.push_back(std::make_unique<asio::steady_timer>(engine.io(loop)));
    asio::post(engine.io(loop), [run, loop] { run->Tick(loop); });
  }
  WaitUntil([&] { return NowNs() >= run->end_ns; }, seconds + 1, label, control);
  // Drain: every send answered and no delivery for 300 ms, or the drain timeout.
  std::vector<std::shared_ptr<SimClient>> clients;
  clients.reserve(senders.size());
  for (const auto& s : senders) clients.push_back(s.client);
  auto outstanding = std::make_shared<std::atomic<int64_t>>(0);
  int64_t last_delivered = -1, quiet_since = NowNs();
  WaitUntil(
      [&] {
        outstanding->store(0);
        OnEachLoop(engine, clients, [outstanding](SimClient& c) { outstanding->fetch_add(c.sends_outstanding()); });
        const int64_t d = g_progress.delivered.load();
        if (d != last_delivered) {
          last_delivered = d;
          quiet_since = NowNs();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        return outstanding->load() == 0 && NowNs() - quiet_since > 300'000'000;
      },
      drain_s, label + " drain", control);
  if (outstanding->load() > 0 && !clients.empty()) {
    const int64_t n = outstanding->load();
    OnEachLoop(engine, {clients.front()}, [n](SimClient& c) { c.stats().Add("unanswered_sends", n); });
  }
  // Stop the tickers (they end by themselves once past end_ns).
}

}  // namespace natter::bench
