// Timeline events reach a socket in their conversation's seq order, each once.
// In a cluster a node delivers its own commits at once and other nodes' when
// they arrive, so seq 21 could otherwise be written before seq 20.
#include <boost/json/parse.hpp>

#include "gateway/ws/frame_writer.h"
#include "gateway/ws_connection_fixture.h"

namespace natter::gateway {
namespace {

class WsConnectionOrderTest : public testing_support::WsConnectionTest {
 protected:
  static constexpr ConversationId kConversation = 7;

  EventFrame Event(Seq seq, bool own = false) {
    auto payload =
        std::make_shared<const std::string>(R"({"type":"message","message":{"seq":)" + std::to_string(seq) + "}}");
    EventFrame e;
    e.payload = payload;
    e.frame = std::make_shared<const std::string>(ws::EncodeFrame(ws::Opcode::kText, *payload));
    e.conversation_id = kConversation;
    e.seq = seq;
    e.own = own;
    return e;
  }

  // What the connection wrote, frame by frame: a message's seq, -1 for a
  // resync notice, -2 for anything else.
  std::vector<int64_t> Written() {
    worker.context().restart();
    worker.context().poll();
    std::vector<int64_t> out;
    size_t at = 0;
    while (at + 2 <= written.size()) {
      size_t len = static_cast<uint8_t>(written[at + 1]) & 0x7f, head = 2;
      if (len == 126) {
        len = (static_cast<uint8_t>(written[at + 2]) << 8) | static_cast<uint8_t>(written[at + 3]);
        head = 4;
      }
      auto v = boost::json::parse(written.substr(at + head, len)).as_object();
      if (v.contains("message")) {
        out.push_back(v.at("message").at("seq").as_int64());
      } else {
        out.push_back(v.at("type").as_string() == "resync" ? -1 : -2);
      }
      at += head + len;
    }
    return out;
  }
};

TEST_F(WsConnectionOrderTest, ALaterSeqWaitsForTheEarlierOne) {
  auto conn = Open();
  conn->EnqueueEvent(Event(20));
  conn->EnqueueEvent(Event(22));  // this node's own commit, before another node's 21 arrives
  EXPECT_EQ(Written(), (std::vector<int64_t>{20}));
  conn->EnqueueEvent(Event(21));
  EXPECT_EQ(Written(), (std::vector<int64_t>{20, 21, 22}));
  conn->EnqueueEvent(Event(21));  // a late copy: not twice
  conn->EnqueueEvent(Event(23));
  EXPECT_EQ(Written(), (std::vector<int64_t>{20, 21, 22, 23}));
}

TEST_F(WsConnectionOrderTest, AnEarlierSeqThatNeverComesBecomesAResyncNotice) {
  auto conn = Open();
  conn->EnqueueEvent(Event(5));
  conn->EnqueueEvent(Event(7));
  conn->EnqueueEvent(Event(8));
  clock.Advance(500);
  conn->OnTick();
  EXPECT_EQ(Written(), (std::vector<int64_t>{5}));  // still waiting
  clock.Advance(1000);
  conn->OnTick();
  EXPECT_EQ(Written(), (std::vector<int64_t>{5, -1}));  // told to sync instead of a gap
  // The stream goes on after what was given up; the late 6 is not sent.
  conn->EnqueueEvent(Event(6));
  conn->EnqueueEvent(Event(9));
  EXPECT_EQ(Written(), (std::vector<int64_t>{5, -1, 9}));
}

TEST_F(WsConnectionOrderTest, TheSocketsOwnEventsAreNotAwaited) {
  // Its own sends come back as answers, not events: the seq they took is no gap.
  auto conn = Open();
  conn->EnqueueEvent(Event(1));
  conn->EnqueueEvent(Event(2, /*own=*/true));
  conn->EnqueueEvent(Event(3));
  EXPECT_EQ(Written(), (std::vector<int64_t>{1, 3}));
}

TEST_F(WsConnectionOrderTest, JoiningAgainStartsTheOrderAfresh) {
  // Removed at seq 5, added again at seq 9: nothing between is this socket's.
  auto conn = Open();
  conn->EnqueueEvent(Event(4));
  conn->EnqueueEvent(Event(5));
  EventFrame joined;
  joined.payload = std::make_shared<const std::string>(R"({"type":"conversation","conversation":{"id":7}})");
  joined.frame = std::make_shared<const std::string>(ws::EncodeFrame(ws::Opcode::kText, *joined.payload));
  joined.conversation_id = kConversation;
  joined.joins = true;
  conn->EnqueueEvent(joined);
  conn->EnqueueEvent(Event(9));
  EXPECT_EQ(Written(), (std::vector<int64_t>{4, 5, -2, 9}));
}

TEST_F(WsConnectionOrderTest, AnEarlierSeqArrivingAfterTheFirstOneSeenIsAResyncNotice) {
  // The first event this socket saw was 22; 21 (another node's) comes after
  // it and can no longer go in order: the client is told, not left with a gap.
  auto conn = Open();
  conn->EnqueueEvent(Event(22));
  conn->EnqueueEvent(Event(21));
  conn->EnqueueEvent(Event(20));  // told once
  conn->EnqueueEvent(Event(23));
  EXPECT_EQ(Written(), (std::vector<int64_t>{22, -1, 23}));
}

}  // namespace
}  // namespace natter::gateway
