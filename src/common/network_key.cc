#include "common/network_key.h"

#include <arpa/inet.h>

#include <array>
#include <cstring>

namespace natter {

std::string NetworkKey(std::string_view address) {
  if (address.find(':') == std::string_view::npos || address.size() >= INET6_ADDRSTRLEN) return std::string(address);
  char text[INET6_ADDRSTRLEN] = {};
  std::memcpy(text, address.data(), address.size());
  std::array<unsigned char, 16> bytes{};
  if (inet_pton(AF_INET6, text, bytes.data()) != 1) return std::string(address);
  // An IPv4 client seen through an IPv6 socket (::ffff:a.b.c.d) keeps its address.
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(bytes.data(), kMapped, sizeof kMapped) == 0) return std::string(address);
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  char prefix[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, bytes.data(), prefix, sizeof prefix);
  return std::string(prefix) + "/64";
}

bool IsLoopbackAddress(std::string_view address) {
  return address.starts_with("127.") || address == "::1" || address == "localhost" ||
         address.starts_with("::ffff:127.");
}

}  // namespace natter
