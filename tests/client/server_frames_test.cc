#include "server_frames.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace natter::client {
namespace {

// A copy, so the frame may be a temporary.
template <class T>
T As(const ServerFrame& f) {
  EXPECT_TRUE(std::holds_alternative<T>(f)) << "frame is variant #" << f.index();
  return std::holds_alternative<T>(f) ? std::get<T>(f) : T{};
}

TEST(ServerFramesTest, MessageDecodesWithoutTheServersBookkeeping) {
  auto f =
      DecodeServerFrame(R"({"type":"message","message":{"conversation_id":5,"seq":2,"kind":"message","sender_id":7,)"
                        R"("client_msg_id":"x","text":"hi","created_at":1,"pts":9,"duplicate":false}})");
  auto m = As<MessageFrame>(f);
  EXPECT_EQ(m.entry.conversation_id, 5);
  EXPECT_EQ(m.entry.seq, 2);
  EXPECT_EQ(m.entry.sender_id, 7);
  EXPECT_EQ(m.entry.client_msg_id, "x");
  EXPECT_FALSE(m.entry.fields.contains("pts"));
  EXPECT_FALSE(m.entry.fields.contains("duplicate"));
  EXPECT_EQ(m.entry.fields.at("text"), "hi");
}

TEST(ServerFramesTest, AMissingOrMistypedFieldIsABadFrameThatNamesIt) {
  EXPECT_EQ(As<BadFrame>(DecodeServerFrame(R"({"type":"message"})")).why, "frame.message is missing");
  EXPECT_EQ(
      As<BadFrame>(DecodeServerFrame(R"({"type":"message","message":{"conversation_id":5,"kind":"message"}})")).why,
      "message.seq is missing");
  EXPECT_EQ(As<BadFrame>(
                DecodeServerFrame(R"({"type":"message","message":{"conversation_id":5,"seq":"2","kind":"message"}})"))
                .why,
            "message.seq is not an integer");
  EXPECT_EQ(As<BadFrame>(DecodeServerFrame(
                             R"({"type":"message","message":{"conversation_id":5,"seq":2,"kind":"message","text":3}})"))
                .why,
            "message.text is not a string");
  EXPECT_EQ(As<BadFrame>(DecodeServerFrame(R"({"type":"sync.conversation","data":{}})")).why,
            "data.conversation_id is missing");
  EXPECT_EQ(As<BadFrame>(DecodeServerFrame(R"({"type":"receipt","conversation_id":5,"user_id":1,"read_seq":-1})")).why,
            "frame.delivered_seq is missing");
  EXPECT_EQ(As<BadFrame>(DecodeServerFrame("[1,2,3]")).why, "frame is not an object");
  EXPECT_EQ(As<BadFrame>(DecodeServerFrame("{\"type\":")).type, "");
}

TEST(ServerFramesTest, SyncConversationChecksEveryMemberAndEvent) {
  std::string head = R"({"type":"sync.conversation","id":"c1","data":{"conversation_id":5,"my_role":"member",)"
                     R"("conversation":{"id":5,"kind":"group","large":false},)";
  auto good = DecodeServerFrame(head + R"("members":[{"user_id":3,"read_seq":2,"delivered_seq":2}],)" +
                                R"("events":[{"conversation_id":5,"seq":2,"kind":"message","sender_id":3}]}})");
  auto s = As<SyncConversationFrame>(good);
  ASSERT_EQ(s.members.size(), 1u);
  EXPECT_EQ(s.members[0].read_seq, 2);
  ASSERT_EQ(s.events.size(), 1u);
  EXPECT_EQ(As<BadFrame>(DecodeServerFrame(head + R"("members":[{"user_id":3},7],"events":[]}})")).why,
            "data.members[1] is not an object");
  EXPECT_EQ(As<BadFrame>(DecodeServerFrame(head + R"("members":[],"events":[{"conversation_id":6,"seq":1,)" +
                                           R"("kind":"message"}]}})"))
                .why,
            "an event of data.events is of another conversation");
  EXPECT_TRUE(As<SyncConversationFrame>(
                  DecodeServerFrame(R"({"type":"sync.conversation","data":{"conversation_id":5,"removed":true}})"))
                  .removed);
}

TEST(ServerFramesTest, RepliesNoticesAndNewTypes) {
  auto ok = As<ReplyFrame>(DecodeServerFrame(R"({"type":"result","id":"c4","data":{"seq":3}})"));
  EXPECT_TRUE(ok.ok);
  EXPECT_EQ(ok.id, "c4");
  auto err = As<ReplyFrame>(DecodeServerFrame(R"({"type":"error","id":"c5","code":"forbidden"})"));
  EXPECT_FALSE(err.ok);
  EXPECT_EQ(err.code, "forbidden");
  EXPECT_EQ(As<BadFrame>(DecodeServerFrame(R"({"type":"error","id":"c5"})")).why, "frame.code is missing");
  auto typing = As<NoticeFrame>(DecodeServerFrame(R"({"type":"typing","conversation_id":5,"user_id":3})"));
  EXPECT_EQ(typing.type, "typing");
  EXPECT_FALSE(typing.fields.contains("type"));
  EXPECT_EQ(As<UnknownFrame>(DecodeServerFrame(R"({"type":"call.offer"})")).type, "call.offer");
}

TEST(ServerFramesTest, AnswersAreCheckedByWhoAsked) {
  std::string why;
  auto sync = DecodeSyncAnswer(boost::json::parse(R"({"resync_required":false,"token":"t","more":true})"), why);
  ASSERT_TRUE(sync) << why;
  EXPECT_TRUE(sync->more);
  EXPECT_FALSE(DecodeSyncAnswer(boost::json::parse(R"({"resync_required":false})"), why));
  EXPECT_EQ(why, "data.token is missing");
  why.clear();
  EXPECT_FALSE(DecodeHistory(boost::json::parse(R"({"messages":[{"seq":1}]})"), why));
  EXPECT_EQ(why, "data.messages[0].conversation_id is missing");
  why.clear();
  EXPECT_FALSE(DecodeConversation(boost::json::parse(R"({"id":5,"kind":"direct","members":[{"user_id":0}]})"), why));
  EXPECT_EQ(why, "data.members[0].user_id is below 1");
}

}  // namespace
}  // namespace natter::client
