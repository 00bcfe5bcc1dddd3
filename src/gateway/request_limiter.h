// Request budgets a node keeps across connections and transports, beside each
// WebSocket connection's own: one per user for its HTTP requests, one per
// client address for requests made without a token (register, login,
// refresh; WebSocket frames before `auth`), and one per user for typing
// notices over HTTP. They use the numbers a WebSocket connection has
// (--requests-per-second and --request-burst, --typing-per-second), so a
// client gains nothing by switching transport or by reconnecting.
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/token_bucket.h"
#include "gateway/gateway_options.h"
#include "natter/model.h"

namespace natter::gateway {

class RequestLimiter {
 public:
  explicit RequestLimiter(const GatewayOptions& options, size_t max_keys = 100000);

  // An HTTP request of `user` (0: none, then its address pays).
  bool TakeHttp(UserId user, std::string_view address, int64_t now_us);
  // A WebSocket request before the connection authenticated.
  bool TakeAnonymous(std::string_view address, int64_t now_us);
  // A typing notice sent over HTTP.
  bool TakeHttpTyping(UserId user, int64_t now_us);

 private:
  KeyedBuckets<UserId> users_;
  KeyedBuckets<std::string> addresses_;
  KeyedBuckets<UserId> typing_;
};

}  // namespace natter::gateway
