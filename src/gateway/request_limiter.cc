#include "gateway/request_limiter.h"

#include "common/network_key.h"

namespace natter::gateway {

namespace {

RequestLimiter::ConnectionRates RatesOf(const GatewayOptions& o) {
  return {o.requests_per_second, o.request_burst, o.typing_per_second, o.typing_burst};
}

}  // namespace

RequestLimiter::RequestLimiter(const GatewayOptions& o, size_t max_keys)
    : rates_(RatesOf(o)),
      users_(o.requests_per_second, o.request_burst, max_keys),
      addresses_(o.requests_per_second, o.request_burst, max_keys),
      typing_(o.typing_per_second, o.typing_burst, max_keys) {}

void RequestLimiter::SetRates(const GatewayOptions& o) {
  users_.SetRate(o.requests_per_second, o.request_burst);
  addresses_.SetRate(o.requests_per_second, o.request_burst);
  typing_.SetRate(o.typing_per_second, o.typing_burst);
  {
    MutexLock lock(mu_);
    rates_ = RatesOf(o);
  }
  generation_.fetch_add(1, std::memory_order_release);
}

RequestLimiter::ConnectionRates RequestLimiter::connection_rates() const {
  MutexLock lock(mu_);
  return rates_;
}

bool RequestLimiter::TakeHttp(UserId user, std::string_view address, int64_t now_us) {
  return user != 0 ? users_.Take(user, now_us) : addresses_.Take(NetworkKey(address), now_us);
}

bool RequestLimiter::TakeAnonymous(std::string_view address, int64_t now_us) {
  return addresses_.Take(NetworkKey(address), now_us);
}

bool RequestLimiter::TakeHttpTyping(UserId user, int64_t now_us) { return typing_.Take(user, now_us); }

}  // namespace natter::gateway
