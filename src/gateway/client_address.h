// The address a request comes from, for login throttling and logs. Behind a
// proxy (HAProxy, nginx) every connection comes from the proxy; when the peer
// is one of the trusted proxies, the client is the address the proxies
// recorded in X-Forwarded-For, read from the right (the part the trusted
// proxies wrote), skipping trusted proxies. Untrusted peers cannot choose
// their address with the header.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace natter::gateway {

std::string ClientAddress(std::string_view peer, std::string_view forwarded_for,
                          const std::vector<std::string>& trusted_proxies);

}  // namespace natter::gateway
