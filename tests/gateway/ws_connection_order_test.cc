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
    auto payload = std::make_shared<const std::string>(R"({"type":"message","message":{"seq":)" +
                                                       std::to_string(seq) + "}}");
    EventFrame e;
    e.payload = payload;
    e.frame = std::make_shared<const std::string>(ws::EncodeFrame(ws::Opcode::kText, *payload));
    e.conversation_id = kConversation;
    e.seq = seq;
    e.own = own;
    return e;
  }

  // What the connection wrote, frame by frame: a message's seq, or -1 for a resync notice.
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
      out.push_back(v.contains("message") ? v.at("message").at("seq").as_int64() : -1);
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

}  // namespace
}  // namespace natter::gateway
