// Batches of HTTP requests through libcurl, for the push providers and the
// webhook worker: every request of a batch goes out at once, multiplexed on
// one connection per host over HTTP/2, and the connections stay open between
// batches (APNs and FCM both ask senders to reuse them). Plain http:// URLs
// use HTTP/1.1, a connection per request under way.
//
// Thread-safety: one thread at a time per client (a push worker's own);
// Cancel() may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace natter::push {

struct HttpRequest {
  std::string method = "POST";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct HttpResponse {
  int status = 0;     // 0: no answer (error says why)
  std::string error;  // connect, TLS or timeout failure
  std::string body;
  std::string retry_after;  // the Retry-After header, when given
  int64_t latency_us = 0;
};

struct Http2Options {
  std::string ca_file;  // empty: the system's trust store
  long connect_timeout_ms = 5000;
  long timeout_ms = 15000;  // per request, connection included
};

class Http2Client {
 public:
  explicit Http2Client(Http2Options options);
  ~Http2Client();
  Http2Client(const Http2Client&) = delete;
  Http2Client& operator=(const Http2Client&) = delete;

  // Sends every request at once; answers in the same order.
  std::vector<HttpResponse> Perform(const std::vector<HttpRequest>& requests);
  // Ends a Perform under way (its unanswered requests fail with "cancelled")
  // and every later one.
  void Cancel();

 private:
  struct Multi;
  Http2Options options_;
  std::unique_ptr<Multi> multi_;
  std::atomic<bool> cancelled_{false};
};

}  // namespace natter::push
