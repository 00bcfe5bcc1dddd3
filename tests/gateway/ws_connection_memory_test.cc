// An idle connection costs only its own object: what a burst of events
// needed to queue is given back once it is written, so 19,000 sockets whose
// users' contacts all came online at once do not each keep that peak.
#include "gateway/ws/frame_writer.h"
#include "gateway/ws_connection_fixture.h"

namespace natter::gateway {
namespace {

using WsConnectionMemoryTest = testing_support::WsConnectionTest;

EventFrame Presence(UserId user) {
  auto payload = std::make_shared<const std::string>(R"({"type":"presence","user_id":)" + std::to_string(user) +
                                                     R"(,"status":"online"})");
  EventFrame e;
  e.payload = payload;
  e.frame = std::make_shared<const std::string>(ws::EncodeFrame(ws::Opcode::kText, *payload));
  return e;
}

TEST_F(WsConnectionMemoryTest, ABurstOfEventsIsGivenBackOnceWritten) {
  auto conn = Open();
  for (UserId user = 1; user <= 100; ++user) conn->EnqueueEvent(Presence(user));
  EXPECT_GT(conn->queue_capacity_bytes(), 0u);  // queued, not yet written
  worker.context().restart();
  worker.context().poll();
  size_t frames = 0;
  for (size_t at = written.find("\"presence\""); at != std::string::npos; at = written.find("\"presence\"", at + 1)) {
    ++frames;
  }
  EXPECT_EQ(frames, 100u);
  EXPECT_EQ(conn->queue_capacity_bytes(), 0u) << "the written burst's queue stays allocated on an idle socket";
}

}  // namespace
}  // namespace natter::gateway
