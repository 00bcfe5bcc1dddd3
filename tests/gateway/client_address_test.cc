#include "gateway/client_address.h"

#include <gtest/gtest.h>

namespace natter::gateway {
namespace {

const std::vector<std::string> kProxies{"10.0.0.1", "10.0.0.2"};

TEST(ClientAddress, AnUntrustedPeerIsTheClientWhateverItClaims) {
  EXPECT_EQ(ClientAddress("203.0.113.9", "1.2.3.4", kProxies), "203.0.113.9");
  EXPECT_EQ(ClientAddress("203.0.113.9", "", {}), "203.0.113.9");
}

TEST(ClientAddress, BehindATrustedProxyTheLastForwardedHopIsTheClient) {
  EXPECT_EQ(ClientAddress("10.0.0.1", "198.51.100.7", kProxies), "198.51.100.7");
  // A client may put anything on the left; only what the proxies appended counts.
  EXPECT_EQ(ClientAddress("10.0.0.1", "6.6.6.6, 198.51.100.7", kProxies), "198.51.100.7");
  // Two trusted proxies in a row are skipped.
  EXPECT_EQ(ClientAddress("10.0.0.1", "6.6.6.6, 198.51.100.7,10.0.0.2", kProxies), "198.51.100.7");
}

TEST(ClientAddress, NoOrMalformedHeaderKeepsWhatIsKnown) {
  EXPECT_EQ(ClientAddress("10.0.0.1", "", kProxies), "10.0.0.1");
  EXPECT_EQ(ClientAddress("10.0.0.1", "198.51.100.7, ", kProxies), "10.0.0.1");
  EXPECT_EQ(ClientAddress("10.0.0.1", std::string(100, 'x'), kProxies), "10.0.0.1");
}

}  // namespace
}  // namespace natter::gateway
