#include "bench/config.h"

#include <boost/json.hpp>

namespace natter::bench {

namespace json = boost::json;

void ApplyProfile(const std::string& profile, BenchConfig& c) {
  c.profile = profile;
  if (profile == "full") {
    // The sizes of the targets (docs/benchmarks.md): one full natterd process, 1,000-member groups,
    // 10,000 missed messages in 100 conversations.
    c.connections = 19000;
    c.hold_s = 10;
    c.pairs = 200;
    c.direct_s = 15;
    c.group_sizes = {100, 1000};
    c.fanout_senders = 2;
    c.fanout_s = 10;
    c.catchup_clients = 10;
    c.history_readers = 32;
    c.history_prefill = 20000;
    c.history_s = 15;
    c.reconnect_clients = 19000;
    c.upload_files = 8;
    c.upload_file_mib = 16;
    c.upload_photos = 10;
    c.photo_width = 4000;  // a 12-megapixel phone photo
    c.photo_height = 3000;
  }
}

json::value BenchConfig::ToJson() const {
  json::array servers_json;
  for (const auto& s : servers) servers_json.push_back(json::string(s.host + ":" + std::to_string(s.port)));
  return json::object{{"servers", std::move(servers_json)},
                      {"server_pids", json::value_from(server_pids)},
                      {"profile", profile},
                      {"scenarios", json::value_from(scenarios)},
                      {"threads_per_worker", threads},
                      {"workers", workers},
                      {"max_connections_per_worker", max_conns_per_worker},
                      {"source_addresses", source_addresses},
                      {"connect_concurrency", connect_concurrency},
                      {"timeout_ms", timeout_ms},
                      {"text_bytes", text_bytes},
                      {"push_tokens", push_tokens},
                      {"reply_every", reply_every},
                      {"connections", connections},
                      {"connections_group_size", connections_group_size},
                      {"hold_s", hold_s},
                      {"pairs", pairs},
                      {"direct_s", direct_s},
                      {"direct_rate", direct_rate},
                      {"window", window},
                      {"group_sizes", json::value_from(group_sizes)},
                      {"fanout_senders", fanout_senders},
                      {"encrypted", encrypted},
                      {"fanout_s", fanout_s},
                      {"fanout_fixed_deliveries", fanout_fixed_deliveries},
                      {"catchup_clients", catchup_clients},
                      {"catchup_conversations", catchup_conversations},
                      {"catchup_messages", catchup_messages},
                      {"history_readers", history_readers},
                      {"history_prefill", history_prefill},
                      {"history_write_rate", history_write_rate},
                      {"upload_clients", upload_clients},
                      {"upload_files", upload_files},
                      {"upload_file_mib", upload_file_mib},
                      {"upload_photos", upload_photos},
                      {"photo_width", photo_width},
                      {"photo_height", photo_height},
                      {"history_s", history_s},
                      {"reconnect_clients", reconnect_clients}};
}

}  // namespace natter::bench
