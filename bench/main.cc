// natter-bench: provisions users and conversations on a running natterd, runs
// load scenarios against it and writes a terminal table, a JSON file and an
// HTML report. Exit status: 0 all good, 1 a correctness error (loss,
// duplicate, reordering), 2 a bad condition (refused or dropped connections,
// server gone, timeouts) or bad usage.
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <random>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "bench/disk_watch.h"
#include "bench/http_client.h"
#include "bench/report.h"
#include "bench/scenario.h"

using namespace natter::bench;

namespace {

const std::vector<std::string> kAllScenarios = {"connections", "direct",    "fanout", "catchup",
                                                "history",     "reconnect", "upload"};

bool ParseEndpoint(const std::string& s, Endpoint& e) {
  const size_t colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  e.host = s.substr(0, colon);
  try {
    e.port = static_cast<unsigned short>(std::stoi(s.substr(colon + 1)));
  } catch (...) {
    return false;
  }
  return e.port != 0;
}

std::string UtcNow(const char* fmt) {
  char buf[64];
  std::time_t t = std::time(nullptr);
  std::strftime(buf, sizeof buf, fmt, std::gmtime(&t));
  return buf;
}

bool ServerHealthy(const Endpoint& e, std::string& why) {
  HttpClient http(e.host, e.port, 3000);
  HttpAnswer a = http.Request("GET", "/healthz", "");
  if (a.status == 200) return true;
  why = a.status ? "/healthz answered " + std::to_string(a.status) : a.error;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  RunContext ctx;
  BenchConfig& cfg = ctx.cfg;
  // The profile sets the defaults that the other flags then override.
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--profile") ApplyProfile(argv[i + 1], cfg);
  }
  std::vector<std::string> servers{"127.0.0.1:8080"};
  std::string commit = "unknown";
  std::string data_dir;
  CLI::App app{"natter-bench: load generator for natterd"};
  app.add_option("--server", servers, "natterd host:port (repeat for several natterd processes)");
  app.add_option("--server-pid", cfg.server_pids,
                 "natterd pid, to read its CPU and memory from /proc (repeat for several)");
  app.add_option("--server-data-dir", data_dir,
                 "natterd's data directory, to report the largest write-ahead log and directory per scenario");
  std::string profile = cfg.profile;
  app.add_option("--profile", profile, "quick (small sizes) or full (the sizes of the targets in docs/benchmarks.md)")
      ->check(CLI::IsMember({"quick", "full"}));
  app.add_option("--scenario", cfg.scenarios, "scenario to run (repeat; default all)")
      ->check(CLI::IsMember(kAllScenarios));
  app.add_option("--out", cfg.out_dir, "directory for the JSON and HTML reports");
  app.add_option("--commit", commit, "commit id recorded in the reports");
  app.add_option("--threads", cfg.threads, "event loops per worker process")->check(CLI::Range(1, 64));
  app.add_option("--workers", cfg.workers, "worker processes (0: enough for the connection count)");
  app.add_option("--max-conns-per-worker", cfg.max_conns_per_worker, "connections one worker process holds")
      ->check(CLI::Range(1, 19000));
  app.add_option("--source-addresses", cfg.source_addresses,
                 "bind to 127.0.0.2..127.0.0.(N+1) (0: one per 2,000 connections to a loopback server)");
  app.add_option("--connect-concurrency", cfg.connect_concurrency, "connects in flight per worker");
  app.add_option("--timeout-ms", cfg.timeout_ms, "connect and upgrade timeout");
  app.add_option("--text-bytes", cfg.text_bytes, "message text size")->check(CLI::Range(1, 16000));
  app.add_flag("--push-tokens", cfg.push_tokens, "every user registers a push token (APNs) after logging in");
  app.add_option("--reply-every", cfg.reply_every,
                 "every n-th plain send replies to the last message acknowledged in its conversation (0: none)")
      ->check(CLI::Range(0, 1000000));
  app.add_option("--connections", cfg.connections, "connections: how many")->check(CLI::Range(1, 1000000));
  app.add_option("--hold", cfg.hold_s, "connections: seconds to hold them idle");
  app.add_option("--connections-group-size", cfg.connections_group_size,
                 "connections: put the users in groups of this size first, so each has size-1 contacts "
                 "who are told when it comes online (0: none)")
      ->check(CLI::Range(0, 10000));
  app.add_option("--pairs", cfg.pairs, "direct: pairs of users")->check(CLI::Range(1, 100000));
  app.add_option("--direct-seconds", cfg.direct_s, "direct: seconds per phase");
  app.add_option("--direct-rate", cfg.direct_rate, "direct: fixed total rate, msg/s (0: 75% of flat-out peak)");
  app.add_option("--window", cfg.window, "sends in flight per sender when flat out")->check(CLI::Range(1, 4096));
  app.add_option("--group-size", cfg.group_sizes, "fanout: members per group (repeat)")->check(CLI::Range(2, 10000));
  app.add_option("--fanout-senders", cfg.fanout_senders, "fanout: senders per group");
  app.add_option("--fanout-seconds", cfg.fanout_s, "fanout: seconds per phase");
  app.add_option("--fanout-deliveries", cfg.fanout_fixed_deliveries, "fanout: deliveries/s in the fixed phase");
  app.add_flag("--encrypted", cfg.encrypted,
               "fanout: end-to-end encrypted groups (at most 256 members), sends shaped as sender-key messages");
  app.add_option("--catchup-clients", cfg.catchup_clients, "catchup: clients that go offline");
  app.add_option("--catchup-conversations", cfg.catchup_conversations, "catchup: conversations");
  app.add_option("--catchup-messages", cfg.catchup_messages, "catchup: messages sent while offline");
  app.add_option("--history-readers", cfg.history_readers, "history: concurrent readers");
  app.add_option("--history-prefill", cfg.history_prefill, "history: messages written before reading");
  app.add_option("--history-write-rate", cfg.history_write_rate, "history: writes/s during the reads");
  app.add_option("--history-seconds", cfg.history_s, "history: seconds of reads");
  app.add_option("--upload-clients", cfg.upload_clients, "upload: uploaders at once")->check(CLI::Range(1, 64));
  app.add_option("--upload-files", cfg.upload_files, "upload: files each uploader sends");
  app.add_option("--upload-file-mib", cfg.upload_file_mib, "upload: size of each file (MiB)")
      ->check(CLI::Range(1, 256));
  app.add_option("--upload-photos", cfg.upload_photos, "upload: photos each uploader sends");
  app.add_option("--photo-width", cfg.photo_width, "upload: photo width (height: 3/4 of it)")
      ->check(CLI::Range(64, 8000));
  app.add_option("--reconnect-clients", cfg.reconnect_clients, "reconnect: clients that drop and return")
      ->check(CLI::Range(1, 1000000));
  CLI11_PARSE(app, argc, argv);
  cfg.photo_height = cfg.photo_width * 3 / 4;
  if (cfg.scenarios.empty()) cfg.scenarios = kAllScenarios;
  cfg.server_pid = cfg.server_pids.empty() ? 0 : cfg.server_pids.front();

  RunSummary run;
  run.started_utc = UtcNow("%Y-%m-%dT%H:%M:%SZ");
  run.commit = commit;
  const int64_t started = NowNs();
  ctx.machine = ReadMachine();
  for (const auto& s : servers) {
    Endpoint e;
    boost::system::error_code ec;
    if (!ParseEndpoint(s, e)) {
      std::cerr << "natter-bench: --server must be host:port, got " << s << "\n";
      return 2;
    }
    auto address = boost::asio::ip::make_address(e.host, ec);
    if (ec) {
      std::cerr << "natter-bench: --server needs an IP address, got " << e.host << "\n";
      return 2;
    }
    cfg.servers.push_back(e);
    ctx.servers.emplace_back(address, e.port);
  }
  int most_clients = 0;
  for (const auto& s : cfg.scenarios) {
    if (s == "connections") most_clients = std::max(most_clients, cfg.connections);
    if (s == "reconnect") most_clients = std::max(most_clients, cfg.reconnect_clients);
  }
  // Linux picks a connect's port by probing the ephemeral range for one whose
  // address pair is free: with ~28,000 ports per pair, and the TIME_WAIT
  // sockets of the last run, that search grows with every connection held
  // and became the generator's main cost (over half its CPU at 19,000, the
  // connect rate falling as they opened). So connections to a loopback server
  // (IPv4: the sources are) spread over one source address per 2,000.
  int sources = cfg.source_addresses;
  const bool loopback = std::all_of(ctx.servers.begin(), ctx.servers.end(), [](const auto& server) {
    return server.address().is_v4() && server.address().is_loopback();
  });
  if (sources == 0 && loopback && most_clients > 2000) sources = (most_clients + 1999) / 2000;
  for (int i = 0; i < sources; ++i) {
    ctx.sources.push_back(boost::asio::ip::make_address_v4(0x7F000002u + static_cast<unsigned>(i)));
  }
  cfg.source_addresses = sources;
  std::random_device rd;
  char tag[16];
  std::snprintf(tag, sizeof tag, "%06x", rd() & 0xFFFFFF);
  ctx.run_tag = tag;
  ctx.prov = std::make_unique<Provisioner>(cfg.servers, cfg.provision_parallel, ctx.run_tag, cfg.push_tokens);

  std::unique_ptr<DiskWatch> disk;
  if (!data_dir.empty()) disk = std::make_unique<DiskWatch>(data_dir);
  std::vector<ScenarioReport> reports;
  std::string why;
  if (!ServerHealthy(cfg.servers.front(), why)) {
    run.fatal.push_back("server " + servers.front() + " not reachable: " + why);
  } else {
    int64_t tokens_at = NowNs();
    for (const auto& name : cfg.scenarios) {
      if (!cfg.server_pids.empty() && !ReadProcs(cfg.server_pids).alive) {
        run.fatal.push_back("a server process is gone; skipped " + name + " and after");
        break;
      }
      bool healthy = true;
      for (const auto& s : cfg.servers) healthy = healthy && ServerHealthy(s, why);
      if (!healthy) {
        std::string fatal = "a server stopped answering (";
        fatal += why;
        fatal += "); skipped ";
        fatal += name;
        fatal += " and after";
        run.fatal.push_back(std::move(fatal));
        break;
      }
      // Separate natterd processes share no store (there is no cluster
      // backend yet): users live on one server each, so only the connection
      // scenarios make sense across them.
      if (cfg.servers.size() > 1 && name != "connections" && name != "reconnect") {
        ScenarioReport skipped;
        skipped.name = name;
        skipped.title = "not run";
        skipped.notes.push_back(
            "with several --server, the users of one conversation would live on different "
            "natterd processes, which share no store");
        reports.push_back(std::move(skipped));
        continue;
      }
      // Tokens live 15 minutes by default: renew them for long runs.
      if (NowNs() - tokens_at > 600'000'000'000 && !ctx.users.empty()) {
        std::string error;
        if (!ctx.prov->Relogin(ctx.users, ctx.users.size(), error)) run.fatal.push_back("re-login failed: " + error);
        tokens_at = NowNs();
      }
      std::cerr << "natter-bench: scenario " << name << "\n";
      ScenarioReport r;
      if (name == "connections")
        r = RunConnections(ctx);
      else if (name == "direct")
        r = RunDirect(ctx);
      else if (name == "fanout")
        r = RunFanout(ctx);
      else if (name == "catchup")
        r = RunCatchup(ctx);
      else if (name == "history")
        r = RunHistory(ctx);
      else if (name == "reconnect")
        r = RunReconnect(ctx);
      else if (name == "upload")
        r = RunUpload(ctx);
      if (disk) {
        const DiskPeaks peaks = disk->TakePeaks();
        r.Add("server_wal_peak_mib", "largest write-ahead log of the server", peaks.wal_bytes / 1048576.0, "MiB");
        r.Add("server_data_peak_mib", "largest data directory of the server", peaks.dir_bytes / 1048576.0, "MiB");
      }
      reports.push_back(std::move(r));
      // Let the server settle (closing sockets, commits) between scenarios.
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  }
  run.seconds = (NowNs() - started) / 1e9;
  run.provisioning_seconds = ctx.prov->seconds_spent();
  bool errors = false, problems = !run.fatal.empty();
  for (const auto& r : reports) {
    errors |= !r.errors.empty();
    problems |= !r.problems.empty();
  }
  run.exit_code = errors ? 1 : problems ? 2 : 0;

  if (ctx.machine.load_average_1m > 0.5 * ctx.machine.nproc) {
    std::cerr << "natter-bench: the load average was " << ctx.machine.load_average_1m
              << " at start (other work on these cores, or an earlier run still decaying): figures may be low\n";
  }
  PrintTable(std::cout, ctx, run, reports);
  mkdir(cfg.out_dir.c_str(), 0755);
  const std::string stem = cfg.out_dir + "/bench-" + cfg.profile + "-" + UtcNow("%Y%m%dT%H%M%SZ");
  {
    std::ofstream json_file(stem + ".json");
    json_file << boost::json::serialize(ReportJson(ctx, run, reports)) << "\n";
    std::ofstream html_file(stem + ".html");
    html_file << ReportHtml(ctx, run, reports);
  }
  std::cout << "reports: " << stem << ".json " << stem << ".html\n";
  return run.exit_code;
}
