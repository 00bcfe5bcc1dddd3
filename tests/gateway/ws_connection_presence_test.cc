// Presence changes wait a moment on each socket (Worker::kPresenceWaitMs), so
// the changes a recipient gets close together leave in one write, and only a
// user's latest state is sent.
#include <boost/json/parse.hpp>
#include <chrono>

#include "gateway/ws/frame_writer.h"
#include "gateway/ws_connection_fixture.h"

namespace natter::gateway {
namespace {

class WsConnectionPresenceTest : public testing_support::WsConnectionTest {
 protected:
  // Long enough that a slow machine cannot reach it between two statements.
  static constexpr int kWaitMs = 1000;
  WsConnectionPresenceTest() { worker.set_presence_wait_ms(kWaitMs); }

  static EventFrame Change(UserId user, const char* status) {
    auto payload = std::make_shared<const std::string>(R"({"type":"presence","user_id":)" + std::to_string(user) +
                                                       R"(,"status":")" + status + R"("})");
    EventFrame e;
    e.payload = payload;
    e.frame = std::make_shared<const std::string>(ws::EncodeFrame(ws::Opcode::kText, *payload));
    e.presence_of = user;
    return e;
  }
  static EventFrame Typing() {
    auto payload = std::make_shared<const std::string>(R"({"type":"typing","conversation_id":7,"user_id":3})");
    EventFrame e;
    e.payload = payload;
    e.frame = std::make_shared<const std::string>(ws::EncodeFrame(ws::Opcode::kText, *payload));
    e.conversation_id = 7;
    return e;
  }

  // Runs the worker's loop for `ms` of real time (its timers included).
  void RunFor(int ms) {
    worker.context().restart();
    worker.context().run_for(std::chrono::milliseconds(ms));
  }

  // The frames written so far, each as "type:user:status".
  std::vector<std::string> Written() {
    std::vector<std::string> out;
    size_t at = 0;
    while (at + 2 <= written.size()) {
      size_t len = static_cast<uint8_t>(written[at + 1]) & 0x7f;
      auto v = boost::json::parse(written.substr(at + 2, len)).as_object();
      std::string status = v.contains("status") ? std::string(v.at("status").as_string()) : "";
      out.push_back(std::string(v.at("type").as_string()) + ":" + std::to_string(v.at("user_id").as_int64()) + ":" +
                    status);
      at += 2 + len;
    }
    return out;
  }
};

TEST_F(WsConnectionPresenceTest, ChangesWaitAMomentThenGoOut) {
  auto conn = Open();
  conn->EnqueueEvent(Change(1, "online"));
  conn->EnqueueEvent(Change(2, "online"));
  worker.context().restart();
  worker.context().poll();  // everything that is ready, no timer
  EXPECT_TRUE(written.empty()) << "a presence change went out at once";
  RunFor(kWaitMs + 300);
  EXPECT_EQ(Written(), (std::vector<std::string>{"presence:1:online", "presence:2:online"}));
  EXPECT_EQ(conn->queue_capacity_bytes(), 0u);
}

TEST_F(WsConnectionPresenceTest, OnlyAUsersLatestStateIsSent) {
  auto conn = Open();
  conn->EnqueueEvent(Change(1, "online"));
  conn->EnqueueEvent(Change(2, "online"));
  conn->EnqueueEvent(Change(1, "offline"));  // flapped: the client needs only this
  RunFor(kWaitMs + 300);
  EXPECT_EQ(Written(), (std::vector<std::string>{"presence:1:offline", "presence:2:online"}));
}

TEST_F(WsConnectionPresenceTest, AFrameThatCannotWaitTakesTheWaitingChangesAlong) {
  auto conn = Open();
  conn->EnqueueEvent(Change(1, "online"));
  conn->EnqueueEvent(Typing());
  worker.context().restart();
  worker.context().poll();  // no timer has fired yet
  EXPECT_EQ(Written(), (std::vector<std::string>{"presence:1:online", "typing:3:"}));
  // A change after them waits again, and is not sent twice when the first
  // wait's timer fires.
  conn->EnqueueEvent(Change(2, "online"));
  RunFor(kWaitMs + 300);
  EXPECT_EQ(Written(), (std::vector<std::string>{"presence:1:online", "typing:3:", "presence:2:online"}));
}

TEST_F(WsConnectionPresenceTest, BehindALongQueueTheLastChangeOfAUserIsTheLatest) {
  // A slow reader's queue is searched only at its end: an older change of
  // user 1 far back stays, and the newest one is what gets replaced.
  auto conn = Open();
  conn->EnqueueEvent(Change(1, "online"));
  for (UserId user = 100; user < 300; ++user) conn->EnqueueEvent(Change(user, "online"));
  conn->EnqueueEvent(Change(1, "offline"));  // too far back to find the first: queued
  conn->EnqueueEvent(Change(1, "online"));   // replaces the offline, not the first
  RunFor(kWaitMs + 300);
  auto frames = Written();
  ASSERT_EQ(frames.size(), 202u);
  EXPECT_EQ(frames.front(), "presence:1:online");
  EXPECT_EQ(frames.back(), "presence:1:online") << "the client would be left with a stale state";
}

}  // namespace
}  // namespace natter::gateway
