// A WebSocket connection's timeouts count on the steady clock of the Clock
// seam: setting the wall clock forward closes nothing; time that passes does.
#include "gateway/ws_connection_fixture.h"

namespace natter::gateway {
namespace {

using WsConnectionClockTest = testing_support::WsConnectionTest;

TEST_F(WsConnectionClockTest, AWallClockJumpClosesNothing) {
  auto conn = Open();
  clock.JumpWallClock(24LL * 3600 * 1000);  // an operator or NTP sets the clock a day ahead
  conn->OnTick();
  EXPECT_TRUE(written.empty()) << "a wall-clock jump closed a fresh connection";
  EXPECT_EQ(worker.connection_count(), 1u);
}

TEST_F(WsConnectionClockTest, TheAuthTimeoutCountsSteadyTime) {
  auto conn = Open();
  clock.Advance(options.auth_timeout_ms - 1);
  conn->OnTick();
  EXPECT_TRUE(written.empty());
  clock.Advance(2);
  conn->OnTick();
  // A close frame, 4001, "authentication timed out".
  ASSERT_GE(written.size(), 4u);
  EXPECT_EQ(static_cast<uint8_t>(written[0]), 0x88);
  EXPECT_EQ((static_cast<uint8_t>(written[2]) << 8) | static_cast<uint8_t>(written[3]), ws::close_code::kUnauthorized);
  EXPECT_NE(written.find("authentication timed out"), std::string::npos);
}

}  // namespace
}  // namespace natter::gateway
