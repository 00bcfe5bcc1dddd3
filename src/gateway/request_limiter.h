// Request budgets a node keeps across connections and transports, beside each
// WebSocket connection's own: one per user for its HTTP requests, one per
// client address for requests made without a token (register, login,
// refresh; WebSocket frames before `auth`), and one per user for typing
// notices over HTTP. They use the numbers a WebSocket connection has
// (--requests-per-second and --request-burst, --typing-per-second), so a
// client gains nothing by switching transport or by reconnecting.
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/mutex.h"
#include "common/token_bucket.h"
#include "gateway/gateway_options.h"
#include "natter/model.h"

namespace natter::gateway {

class RequestLimiter {
 public:
  // What each WebSocket connection allows itself.
  struct ConnectionRates {
    double requests_per_second = 0;
    double request_burst = 0;
    double typing_per_second = 0;
    double typing_burst = 0;
  };

  explicit RequestLimiter(const GatewayOptions& options, size_t max_keys = 100000);

  // New rates from a reload: the budgets here change at once, and each open
  // connection takes them before its next request (it sees the generation move).
  void SetRates(const GatewayOptions& options);
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  ConnectionRates connection_rates() const;

  // An HTTP request of `user` (0: none, then its address pays).
  bool TakeHttp(UserId user, std::string_view address, int64_t now_us);
  // A WebSocket request before the connection authenticated.
  bool TakeAnonymous(std::string_view address, int64_t now_us);
  // A typing notice sent over HTTP.
  bool TakeHttpTyping(UserId user, int64_t now_us);

 private:
  mutable Mutex mu_;
  ConnectionRates rates_ GUARDED_BY(mu_);
  std::atomic<uint64_t> generation_{0};
  KeyedBuckets<UserId> users_;
  KeyedBuckets<std::string> addresses_;
  KeyedBuckets<UserId> typing_;
};

}  // namespace natter::gateway
