#include "common/network_key.h"

#include <gtest/gtest.h>

namespace natter {
namespace {

TEST(NetworkKey, IPv6AddressesShareTheirSlash64) {
  EXPECT_EQ(NetworkKey("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
  EXPECT_EQ(NetworkKey("2001:db8:1:2::1"), NetworkKey("2001:db8:1:2:ffff::9"));
  EXPECT_NE(NetworkKey("2001:db8:1:2::1"), NetworkKey("2001:db8:1:3::1"));
}

TEST(NetworkKey, IPv4AndAnythingElseStayAsTheyAre) {
  EXPECT_EQ(NetworkKey("203.0.113.7"), "203.0.113.7");
  EXPECT_EQ(NetworkKey("::ffff:203.0.113.7"), "::ffff:203.0.113.7");
  EXPECT_EQ(NetworkKey("unknown"), "unknown");
  EXPECT_EQ(NetworkKey("not:an:address:at:all"), "not:an:address:at:all");
}

}  // namespace
}  // namespace natter
