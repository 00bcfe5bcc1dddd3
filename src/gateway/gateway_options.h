// Settings of the network front: listening, limits on connections and frames.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace natter::gateway {

struct GatewayOptions {
  int node_id = 0;  // told to a client on auth: where its socket landed (a cluster's node)
  std::string listen_address = "127.0.0.1";
  uint16_t port = 8080;
  int workers = 0;                           // 0: one per core
  std::vector<std::string> allowed_origins;  // browser Origins allowed to upgrade
  std::vector<std::string> trusted_proxies;  // peers whose X-Forwarded-For names the client
  size_t max_http_body_bytes = 64 * 1024;
  size_t max_http_header_bytes = 8 * 1024;
  int http_timeout_ms = 10000;         // a request or handshake must finish in this
  size_t max_frame_bytes = 64 * 1024;  // the largest WebSocket message accepted
  bool deflate = true;                 // offer permessage-deflate
  int deflate_window_bits = 15;
  size_t send_queue_bytes = 1 << 20;  // per connection, before it counts as behind
  int auth_timeout_ms = 10000;        // first-frame authentication must arrive in this
  int idle_ping_ms = 30000;           // ping a connection quiet for this long
  int idle_timeout_ms = 75000;        // close one quiet for this long
  double requests_per_second = 50;    // per connection, token bucket rate
  double request_burst = 100;         // per connection, token bucket size
  double typing_per_second = 0.5;     // typing notices per connection
  double typing_burst = 3;
  int slow_consumer_timeout_ms = 30000;  // behind this long after the resync notice: closed
  std::string tls_cert;                  // PEM files; both set = https/wss
  std::string tls_key;
};

}  // namespace natter::gateway
