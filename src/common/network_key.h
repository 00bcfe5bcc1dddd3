// The key a client address is limited by. An IPv6 client usually holds a
// whole /64 and can pick a fresh address from it for every request, so its
// budgets (requests, logins, password hashing) are kept per /64; an IPv4
// address is its own key.
// Thread-safety: a pure function.
#pragma once

#include <string>
#include <string_view>

namespace natter {

std::string NetworkKey(std::string_view address);

// Whether `address` is on the loopback interface: only this host reaches it.
bool IsLoopbackAddress(std::string_view address);

}  // namespace natter
