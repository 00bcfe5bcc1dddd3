// The NATS broker's bookkeeping without a server: which subjects an event is
// published on, which a node listens on, and how copies are recognised.
#include <gtest/gtest.h>

#include <algorithm>

#include "broker/nats/interest_table.h"
#include "broker/nats/recent_ids.h"
#include "broker/nats/subjects.h"

namespace natter::nats {
namespace {

using Subjects = std::vector<std::string>;

Event EventFor(ConversationId c, std::vector<UserId> users, std::string payload = R"({"type":"message"})") {
  Event e;
  e.conversation_id = c;
  for (UserId u : users) e.recipients.push_back({u, 0});
  e.payload = std::make_shared<const std::string>(std::move(payload));
  return e;
}

Subjects Sorted(Subjects s) {
  std::sort(s.begin(), s.end());
  return s;
}

TEST(NatsSubjects, TimelineEventsGoOnceToTheirConversation) {
  Event e = EventFor(42, {1, 2, 3});
  EXPECT_EQ(SubjectsFor(e, std::nullopt), (Subjects{"natter.c.42"}));
}

TEST(NatsSubjects, EventsOutsideTimelinesGoToEachRecipientOnce) {
  Event e = EventFor(0, {5, 6, 5});
  EXPECT_EQ(Sorted(SubjectsFor(e, std::nullopt)), (Subjects{"natter.u.5", "natter.u.6"}));
  EXPECT_TRUE(SubjectsFor(EventFor(0, {}), std::nullopt).empty());
}

TEST(NatsSubjects, MembershipEventsAlsoGoToEachRecipient) {
  Event e = EventFor(42, {1, 2});
  e.to_each_recipient = true;
  EXPECT_EQ(Sorted(SubjectsFor(e, std::nullopt)), (Subjects{"natter.c.42", "natter.u.1", "natter.u.2"}));
}

TEST(NatsSubjects, LogoutsGoToEveryNode) {
  Event e = EventFor(0, {5});
  e.payload.reset();
  e.revoke_session = 77;
  EXPECT_EQ(SubjectsFor(e, std::nullopt), (Subjects{"natter.sessions"}));
}

TEST(NatsSubjects, ConversationFramesAlsoGoToTheMembers) {
  Event e = EventFor(42, {1, 2});
  EXPECT_EQ(Sorted(SubjectsFor(e, 42)), (Subjects{"natter.c.42", "natter.u.1", "natter.u.2"}));
}

TEST(NatsSubjects, ConversationFrameIdReadsOnlyConversationFrames) {
  EXPECT_EQ(ConversationFrameId(R"({"type":"conversation","conversation":{"id":77,"members":[]}})"), 77);
  EXPECT_EQ(ConversationFrameId(R"({"conversation":{"id":8},"type":"conversation"})"), 8);
  // Other frames, even ones that mention the word.
  EXPECT_EQ(ConversationFrameId(R"({"type":"message","message":{"text":"\"conversation\""}})"), std::nullopt);
  EXPECT_EQ(ConversationFrameId(R"({"type":"typing","conversation_id":3})"), std::nullopt);
  EXPECT_EQ(ConversationFrameId(R"({"type":"message","conversation":{"id":3}})"), std::nullopt);
  // Malformed ones.
  EXPECT_EQ(ConversationFrameId(R"({"type":"conversation","conversation":{"id":"7"}})"), std::nullopt);
  EXPECT_EQ(ConversationFrameId(R"({"type":"conversation","conversation":7})"), std::nullopt);
  EXPECT_EQ(ConversationFrameId(R"({"type":"conversation","conversation":{"id":7})"), std::nullopt);
  EXPECT_EQ(ConversationFrameId(""), std::nullopt);
  EXPECT_EQ(ConversationFrameId(std::string(100000, '[') + "\"conversation\""), std::nullopt);
}

TEST(NatsInterestTable, UserOnlineListensOnTheUserSubjectOnce) {
  InterestTable t;
  InterestChange c;
  uint64_t g1 = t.UserOnline(1, c);
  EXPECT_EQ(c.subscribe, (Subjects{"natter.u.1"}));
  InterestChange again;
  EXPECT_EQ(t.UserOnline(1, again), g1);
  EXPECT_TRUE(again.subscribe.empty());
  // Two starts need two ends.
  InterestChange off;
  t.UserOffline(1, off);
  EXPECT_TRUE(off.unsubscribe.empty());
  EXPECT_TRUE(t.IsOnline(1));
  t.UserOffline(1, off);
  EXPECT_EQ(off.unsubscribe, (Subjects{"natter.u.1"}));
  EXPECT_FALSE(t.IsOnline(1));
  EXPECT_EQ(t.SubjectCount(), 0u);
}

TEST(NatsInterestTable, MembersOfOneConversationShareOneSubscription) {
  InterestTable t;
  InterestChange c;
  uint64_t g1 = t.UserOnline(1, c);
  uint64_t g2 = t.UserOnline(2, c);
  c = {};
  EXPECT_EQ(t.Join(1, 7, c, g1), Joined::kSubscribed);
  EXPECT_EQ(t.Join(2, 7, c, g2), Joined::kHeld);  // the node listens already
  EXPECT_EQ(t.Join(2, 7, c), Joined::kNothing);   // again: nothing
  EXPECT_EQ(c.subscribe, (Subjects{"natter.c.7"}));
  EXPECT_TRUE(t.Holds(1, 7));
  EXPECT_EQ(t.SubjectCount(), 3u);

  c = {};
  t.UserOffline(1, c);
  EXPECT_EQ(c.unsubscribe, (Subjects{"natter.u.1"}));  // 2 still needs natter.c.7
  c = {};
  t.UserOffline(2, c);
  EXPECT_EQ(Sorted(c.unsubscribe), (Subjects{"natter.c.7", "natter.u.2"}));
  EXPECT_EQ(t.SubjectCount(), 0u);
}

TEST(NatsInterestTable, JoinIgnoresOfflineUsersAndStaleAnswers) {
  InterestTable t;
  InterestChange c;
  EXPECT_EQ(t.Join(9, 7, c), Joined::kNothing);  // not online here
  EXPECT_TRUE(c.subscribe.empty());

  uint64_t first = t.UserOnline(1, c);
  t.UserOffline(1, c);
  uint64_t second = t.UserOnline(1, c);
  EXPECT_NE(first, second);
  c = {};
  EXPECT_EQ(t.Join(1, 7, c, first), Joined::kNothing);  // the answer for the earlier time online
  EXPECT_TRUE(c.subscribe.empty());
  EXPECT_FALSE(t.Holds(1, 7));
  t.Join(1, 7, c, second);
  EXPECT_EQ(c.subscribe, (Subjects{"natter.c.7"}));
  EXPECT_EQ(t.Join(1, 0, c), Joined::kNothing);  // not a conversation
  EXPECT_EQ(c.subscribe.size(), 1u);
}

TEST(NatsRecentIds, DropsRepeatsWithinTheWindowOnly) {
  RecentIds ids(3);
  EXPECT_TRUE(ids.Insert(1));
  EXPECT_FALSE(ids.Insert(1));
  EXPECT_TRUE(ids.Insert(2));
  EXPECT_TRUE(ids.Insert(3));
  EXPECT_FALSE(ids.Insert(2));
  EXPECT_TRUE(ids.Insert(4));  // pushes 1 out
  EXPECT_TRUE(ids.Insert(1));
  EXPECT_FALSE(ids.Insert(4));
  for (uint64_t i = 100; i < 10000; ++i) EXPECT_TRUE(ids.Insert(i));
  EXPECT_FALSE(ids.Insert(9999));
}

}  // namespace
}  // namespace natter::nats
