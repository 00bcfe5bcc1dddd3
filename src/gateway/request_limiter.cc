#include "gateway/request_limiter.h"

#include "common/network_key.h"

namespace natter::gateway {

RequestLimiter::RequestLimiter(const GatewayOptions& o, size_t max_keys)
    : users_(o.requests_per_second, o.request_burst, max_keys),
      addresses_(o.requests_per_second, o.request_burst, max_keys),
      typing_(o.typing_per_second, o.typing_burst, max_keys) {}

bool RequestLimiter::TakeHttp(UserId user, std::string_view address, int64_t now_us) {
  return user != 0 ? users_.Take(user, now_us) : addresses_.Take(NetworkKey(address), now_us);
}

bool RequestLimiter::TakeAnonymous(std::string_view address, int64_t now_us) {
  return addresses_.Take(NetworkKey(address), now_us);
}

bool RequestLimiter::TakeHttpTyping(UserId user, int64_t now_us) { return typing_.Take(user, now_us); }

}  // namespace natter::gateway
