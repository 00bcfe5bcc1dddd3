// What every scenario shares: the run context (configuration, provisioned
// users, addresses), the report a scenario fills, the coordinator side that
// samples the server at phase boundaries, and the worker side helpers that
// connect clients and drive a send schedule.
//
// Thread-safety: RunContext and ScenarioReport belong to the coordinator's
// main thread. Worker helpers run on a worker's main thread and post all
// client work to the client's loop.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "bench/config.h"
#include "bench/engine.h"
#include "bench/proc_stats.h"
#include "bench/sim_client.h"
#include "bench/worker_pool.h"

namespace natter::bench {

struct RunContext {
  BenchConfig cfg;
  std::vector<BenchUser> users;
  std::unique_ptr<Provisioner> prov;
  std::vector<boost::asio::ip::address> sources;
  std::vector<boost::asio::ip::tcp::endpoint> servers;
  MachineInfo machine;
  std::string run_tag;
};

struct Figure {
  std::string key;    // stable name in the JSON report
  std::string label;  // for people
  double value = 0;
  std::string unit;
};

// A measured stretch between the barriers "start:<name>" and "end:<name>".
struct PhaseSample {
  int64_t start_ns = 0, end_ns = 0;
  ProcSample server_start, server_end;
  std::vector<double> worker_cpu_start, worker_cpu_end;
  double seconds() const { return (end_ns - start_ns) / 1e9; }
  double server_cpu() const { return server_end.cpu_seconds - server_start.cpu_seconds; }
  // Highest share of one core any worker process used in the phase (percent).
  double max_worker_cpu_pct() const;
};

struct ScenarioReport {
  std::string name;
  std::string title;
  bool ran = false;
  double seconds = 0;
  int workers = 1;
  boost::json::object parameters;
  std::vector<Figure> figures;
  Stats stats;
  std::map<std::string, PhaseSample> phases;
  std::vector<std::string> errors;    // correctness: nonzero exit
  std::vector<std::string> problems;  // bad conditions: nonzero exit
  std::vector<std::string> notes;     // context, bottlenecks

  void Add(const std::string& key, const std::string& label, double value, const std::string& unit) {
    figures.push_back(Figure{key, label, value, unit});
  }
  double Get(const std::string& key) const;
  // Latency percentiles of histogram `hist` as figures "<key>_p50_ms", ...
  void AddLatency(const std::string& key, const std::string& label, const std::string& hist);
  // Server CPU per event, generator CPU, and a bottleneck note for a phase.
  void AddPhaseCpu(const std::string& phase, const std::string& key, double events, const std::string& per_what,
                   int threads_per_worker);
  // Bytes the server wrote to storage per event in a phase.
  void AddPhaseWritten(const std::string& phase, const std::string& key, double events, const std::string& per_what);
};

// Coordinator side: runs `body` in `workers` processes, sampling the server
// (and the workers) at every barrier, and merges what they found.
// `on_barrier` may return a value for the workers (e.g. a target rate).
void RunScenarioWorkers(
    RunContext& ctx, ScenarioReport& report, int workers, double deadline_s,
    const std::function<Stats(WorkerControl&)>& body,
    const std::function<double(const std::string& barrier, double sum, ScenarioReport&)>& on_barrier = nullptr);

// Checks every conversation: each receiver must hold seq 1..acked. Loss,
// duplicates and reordering were recorded as they happened; this adds the
// end-of-run loss check and copies all of it into the report.
void CheckDelivery(ScenarioReport& report, bool unanswered_sends_possible);

// How many worker processes `clients` connections need.
int WorkersFor(const BenchConfig& cfg, int clients);

// ---- Worker side --------------------------------------------------------

// The clients of this worker: global indices [begin, end) of `total`.
struct Slice {
  int begin = 0, end = 0;
  int size() const { return end - begin; }
};
Slice SliceOf(int total, const WorkerControl& control);

// Makes clients for global indices in `slice`, using users[user_of(i)].
std::vector<std::shared_ptr<SimClient>> MakeClients(Engine& engine, const RunContext& ctx, Slice slice,
                                                    const std::function<int(int)>& user_of);

// Connects every client with at most cfg.connect_concurrency in flight;
// records the "connect" latency histogram and counters. Returns when all are
// done or after `timeout_s`.
// `after` (optional) runs once connected and must call its callback; the
// connect time includes it (e.g. a sync after a reconnect).
using AfterConnect = std::function<void(SimClient&, std::function<void(const std::string& error)>)>;
void ConnectAll(Engine& engine, const RunContext& ctx, const std::vector<std::shared_ptr<SimClient>>& clients,
                bool bearer, double timeout_s, const std::string& label, const AfterConnect& after = nullptr,
                int concurrency = 0, const std::string& hist = "connect");

// Sends `count` messages from one client round-robin over `conversations`,
// flat out with `window` in flight; waits until all are answered or timeout.
void SendCount(Engine& engine, const RunContext& ctx, const std::shared_ptr<SimClient>& client,
               const std::vector<int64_t>& conversations, int64_t count, int window, double timeout_s,
               const std::string& label, const WorkerControl& control);

// Clients that got a slow-consumer notice pull what they missed by history.
void CatchUpAfterResync(Engine& engine, const std::vector<std::shared_ptr<SimClient>>& clients, double timeout_s,
                        const WorkerControl& control);

// Waits until `done()` or `timeout_s`, printing progress once a second.
bool WaitUntil(const std::function<bool()>& done, double timeout_s, const std::string& label,
               const WorkerControl& control);

// Runs `fn(client)` on each client's loop and waits for all of them.
void OnEachLoop(Engine& engine, const std::vector<std::shared_ptr<SimClient>>& clients,
                const std::function<void(SimClient&)>& fn);

// Sum of a per-second series (what a phase counted).
int64_t SeriesTotal(const Stats& stats, const std::string& name);

// One sender: a client posting into a conversation.
struct SenderSpec {
  std::shared_ptr<SimClient> client;
  int64_t conversation = 0;
};

// Sends for `seconds`: at `rate_per_sender` msgs/s each (intended times on a
// fixed schedule, so a stall shows as latency, not as fewer samples), or flat
// out with `window` sends outstanding each when rate is 0. Then waits up to
// `drain_s` for answers and for deliveries to stop.
void RunLoad(Engine& engine, const RunContext& ctx, const std::vector<SenderSpec>& senders, double rate_per_sender,
             int window, double seconds, double drain_s, const std::string& label, const WorkerControl& control);

// Adds every client's held seqs to the engine's stats (after the last phase).
void ReportHeld(Engine& engine, const std::vector<std::shared_ptr<SimClient>>& clients);

// ---- Scenarios ----------------------------------------------------------

ScenarioReport RunConnections(RunContext& ctx);
ScenarioReport RunDirect(RunContext& ctx);
ScenarioReport RunFanout(RunContext& ctx);
ScenarioReport RunCatchup(RunContext& ctx);
ScenarioReport RunHistory(RunContext& ctx);
ScenarioReport RunReconnect(RunContext& ctx);
ScenarioReport RunUpload(RunContext& ctx);

}  // namespace natter::bench
