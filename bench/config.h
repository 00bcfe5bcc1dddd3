// Everything a run is configured with, filled from the command line
// (main.cc) with the quick or full profile as defaults, and echoed whole in
// the JSON report.
//
// Thread-safety: written once before any worker starts, then read-only.
#pragma once

#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "bench/provision.h"

namespace natter::bench {

struct BenchConfig {
  std::vector<Endpoint> servers;
  int server_pid = 0;            // the first of server_pids (0: none)
  std::vector<int> server_pids;  // one per natterd process measured
  std::string profile = "quick";
  std::vector<std::string> scenarios;
  std::string out_dir = "bench-results";
  int threads = 1;  // event loops per worker process
  int workers = 0;  // 0: as many as the connection count needs
  int max_conns_per_worker = 15000;
  int source_addresses = 0;       // 0: one per 2,000 connections to a loopback IPv4 server
  int connect_concurrency = 256;  // connects in flight per worker
  int timeout_ms = 10000;         // connect, upgrade, answer waits
  int provision_parallel = 8;
  int text_bytes = 64;
  bool push_tokens = false;  // every user registers an APNs token (natterd's push cost)
  int reply_every = 0;       // every n-th plain send replies to the conversation's last acknowledged message; 0: none

  int connections = 2000;
  double hold_s = 3;
  int connections_group_size = 0;  // 0: no conversations; else users in groups of this size (contacts)

  int pairs = 50;
  double direct_s = 4;
  double direct_rate = 0;  // msgs/s at the fixed phase; 0: 75% of the flat-out peak
  int window = 8;          // outstanding sends per sender, flat out

  std::vector<int> group_sizes{100, 1000};
  int fanout_senders = 1;
  double fanout_s = 3;
  double fanout_fixed_deliveries = 25000;  // deliveries/s in the fixed phase
  bool encrypted = false;                  // fanout: end-to-end encrypted groups, sender-key sends

  int catchup_clients = 1;
  int catchup_conversations = 100;
  int catchup_messages = 10000;

  int history_readers = 8;
  int history_prefill = 2000;
  double history_write_rate = 1000;
  double history_s = 4;

  int reconnect_clients = 2000;

  int upload_clients = 4;
  int upload_files = 4;  // each
  int upload_file_mib = 4;
  int upload_photos = 4;  // each
  int photo_width = 2000;
  int photo_height = 1500;

  boost::json::value ToJson() const;
};

// Applies the sizes of a profile ("quick" or "full") to `c`.
void ApplyProfile(const std::string& profile, BenchConfig& c);

}  // namespace natter::bench
