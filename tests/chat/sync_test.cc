#include "chat/sync.h"

#include <gtest/gtest.h>

#include <set>

#include "chat/message_lifecycle.h"
#include "chat/receipts.h"
#include "chat/send_message.h"
#include "fakes/chat_limits.h"
#include "fakes/temp_db.h"

namespace natter::chat {
namespace {

class SyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    me = db.AddUser("me");
    friend_ = db.AddUser("friend");
  }
  Context Ctx(UserId u) { return Context{u, db.clock.NowMs()}; }
  ConversationId Direct(UserId a, UserId b) {
    auto v = CreateDirect(db.txn(), Ctx(a), db.ids.Next(), limits, b);
    EXPECT_TRUE(v.ok());
    return v->conversation.id;
  }
  ConversationId Group(UserId owner, std::vector<UserId> members, ConversationKind kind = ConversationKind::kGroup) {
    auto v =
        CreateGroup(db.txn(), Ctx(owner), db.ids.Next(), limits, CreateGroupRequest{kind, "g", std::move(members)});
    EXPECT_TRUE(v.ok()) << v.error().message;
    return v->conversation.id;
  }
  Seq Send(UserId from, ConversationId c, const std::string& text) {
    auto r = SendMessage(db.txn(), Ctx(from), limits, SendRequest{c, "id-" + std::to_string(++counter), text, {}});
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r->message.seq;
  }
  SyncResult Sync(UserId u, const std::optional<SyncPosition>& since) {
    auto r = CatchUp(db.txn(), Ctx(u), limits, since);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return std::move(*r);
  }
  const ConversationCatchUp* Find(const SyncResult& r, ConversationId c) {
    for (const auto& e : r.conversations) {
      if (e.id == c) return &e;
    }
    return nullptr;
  }

  testing::TempDb db;
  ChatLimits limits = testing::EveryoneMayAdd();
  UserId me = 0, friend_ = 0;
  int counter = 0;
};

TEST_F(SyncTest, FreshInstallGetsEveryConversationWithItsNewestPage) {
  ConversationId d = Direct(me, friend_);
  ConversationId g = Group(friend_, {me});
  Send(friend_, d, "hello");
  auto r = Sync(me, std::nullopt);
  EXPECT_FALSE(r.resync_required);
  ASSERT_EQ(r.conversations.size(), 2u);
  ASSERT_NE(Find(r, d), nullptr);
  ASSERT_EQ(Find(r, d)->events.size(), 1u);
  EXPECT_EQ(Find(r, d)->events[0].text, "hello");
  EXPECT_NE(Find(r, g), nullptr);
  EXPECT_GT(r.position.pts.at(0), 0);
}

TEST_F(SyncTest, ResumingReturnsOnlyWhatChanged) {
  ConversationId d = Direct(me, friend_);
  Send(friend_, d, "before");
  SyncPosition pos = Sync(me, std::nullopt).position;
  Seq second = Send(friend_, d, "after");
  auto r = Sync(me, pos);
  ASSERT_EQ(r.conversations.size(), 1u);
  ASSERT_EQ(r.conversations[0].events.size(), 1u);
  EXPECT_EQ(r.conversations[0].events[0].seq, second);
  EXPECT_EQ(r.conversations[0].events[0].text, "after");
  // Nothing new: nothing returned, same position.
  auto again = Sync(me, r.position);
  EXPECT_TRUE(again.conversations.empty());
  EXPECT_EQ(again.position.pts, r.position.pts);
}

TEST_F(SyncTest, CostGrowsWithChangesNotWithConversations) {
  std::vector<ConversationId> all;
  for (int i = 0; i < 2000; ++i) {
    UserId other = db.AddUser("peer" + std::to_string(i));
    all.push_back(Direct(me, other));
  }
  SyncPosition pos = Sync(me, std::nullopt).position;
  for (int i = 0; i < 5; ++i) Send(me, all[i * 300], "ping");
  auto r = Sync(me, pos);
  EXPECT_EQ(r.conversations.size(), 5u);
  // The log entries, the five conversations and their rows: nowhere near 2000.
  EXPECT_LT(r.rows_read, 60) << "catch-up read " << r.rows_read << " rows";
}

TEST_F(SyncTest, MoreThanAPageLeavesAGapMarker) {
  limits.sync_page = 5;
  ConversationId d = Direct(me, friend_);
  SyncPosition pos = Sync(me, std::nullopt).position;
  for (int i = 0; i < 12; ++i) Send(friend_, d, "m" + std::to_string(i));
  auto r = Sync(me, pos);
  ASSERT_EQ(r.conversations.size(), 1u);
  const auto& c = r.conversations[0];
  ASSERT_EQ(c.events.size(), 5u);
  EXPECT_EQ(c.events.front().seq, 8);
  EXPECT_EQ(c.events.back().seq, 12);
  EXPECT_EQ(c.gap_from, 1);
  EXPECT_EQ(c.gap_to, 7);
}

TEST_F(SyncTest, EditsDeletesAndReactionsAreEventsWithTheCurrentState) {
  ConversationId d = Direct(me, friend_);
  Seq first = Send(friend_, d, "typo");
  Seq second = Send(friend_, d, "secret");
  SyncPosition pos = Sync(me, std::nullopt).position;
  ASSERT_TRUE(EditMessage(db.txn(), Ctx(friend_), limits, d, first, "fixed").ok());
  ASSERT_TRUE(DeleteMessage(db.txn(), Ctx(friend_), limits, d, second).ok());
  ASSERT_TRUE(React(db.txn(), Ctx(me), limits, d, first, "+1").ok());
  auto r = Sync(me, pos);
  ASSERT_EQ(r.conversations.size(), 1u);
  const auto& events = r.conversations[0].events;
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].kind, EventKind::kEdit);
  EXPECT_EQ(events[0].text, "fixed");
  EXPECT_EQ(events[1].kind, EventKind::kDelete);
  EXPECT_EQ(events[1].target_seq, second);
  EXPECT_EQ(events[2].kind, EventKind::kReaction);
  // The deleted text is gone from storage, not only hidden.
  auto stored = db.txn().FindMessage(d, second);
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_TRUE((*stored)->deleted);
  EXPECT_EQ((*stored)->text, "");
}

TEST_F(SyncTest, RemovedConversationIsReportedAsRemoved) {
  ConversationId g = Group(friend_, {me});
  SyncPosition pos = Sync(me, std::nullopt).position;
  ASSERT_TRUE(RemoveMember(db.txn(), Ctx(friend_), limits, g, me).ok());
  auto r = Sync(me, pos);
  ASSERT_EQ(r.conversations.size(), 1u);
  EXPECT_TRUE(r.conversations[0].removed);
}

TEST_F(SyncTest, ReceiptsOfOthersArriveWithoutEvents) {
  ConversationId d = Direct(me, friend_);
  Seq s = Send(me, d, "did you read it?");
  SyncPosition pos = Sync(me, std::nullopt).position;
  ASSERT_TRUE(MarkReceipt(db.txn(), Ctx(friend_), limits, d, {}, s).ok());
  auto r = Sync(me, pos);
  ASSERT_EQ(r.conversations.size(), 1u);
  EXPECT_TRUE(r.conversations[0].events.empty());
  bool seen = false;
  for (const auto& m : r.conversations[0].members) {
    if (m.user_id == friend_) seen = m.read_seq == s && m.delivered_seq == s;
  }
  EXPECT_TRUE(seen);
}

TEST_F(SyncTest, LargeConversationsAreFollowedByTheirOwnSeq) {
  ConversationId channel = Group(friend_, {me}, ConversationKind::kChannel);
  SyncPosition pos = Sync(me, std::nullopt).position;
  ASSERT_EQ(pos.by_seq.count(channel), 1u);
  int64_t pts_before = db.txn().GetUpdateLogState(me).value().pts;
  Seq s = Send(friend_, channel, "broadcast");
  // No per-member log row for a channel post.
  EXPECT_EQ(db.txn().GetUpdateLogState(me).value().pts, pts_before);
  auto r = Sync(me, pos);
  ASSERT_EQ(r.conversations.size(), 1u);
  ASSERT_EQ(r.conversations[0].events.size(), 1u);
  EXPECT_EQ(r.conversations[0].events[0].seq, s);
  EXPECT_EQ(r.position.by_seq.at(channel), s);
  EXPECT_EQ(r.conversations[0].members.size(), 1u);  // only me, not the whole audience
}

// A group past logged_group_members is followed like a large one (one row per
// message, none per member), yet keeps what a small group shows: its
// members' watermarks, and receipts that reach the others.
TEST_F(SyncTest, AGroupPastTheLoggedSizeIsFollowedBySeqAndStaysSmall) {
  limits.logged_group_members = 3;
  UserId third = db.AddUser("third"), fourth = db.AddUser("fourth");
  ConversationId g = Group(friend_, {me, third, fourth});
  SyncPosition pos = Sync(me, std::nullopt).position;
  ASSERT_EQ(pos.by_seq.count(g), 1u);
  int64_t pts_before = db.txn().GetUpdateLogState(me).value().pts;
  Seq s = Send(friend_, g, "four of us");
  EXPECT_EQ(db.txn().GetUpdateLogState(me).value().pts, pts_before) << "a log row per member";
  auto r = Sync(me, pos);
  ASSERT_EQ(r.conversations.size(), 1u);
  ASSERT_EQ(r.conversations[0].events.size(), 1u);
  EXPECT_EQ(r.conversations[0].events[0].seq, s);
  EXPECT_EQ(r.position.by_seq.at(g), s);
  EXPECT_FALSE(r.conversations[0].conversation.large);
  EXPECT_EQ(r.conversations[0].members.size(), 4u);
  // Others' receipts still reach me through my log.
  ASSERT_TRUE(MarkReceipt(db.txn(), Ctx(third), limits, g, {}, s).ok());
  auto receipts = Sync(me, r.position);
  ASSERT_EQ(receipts.conversations.size(), 1u);
  EXPECT_TRUE(receipts.conversations[0].events.empty());
}

// The defect this guards against: a group made past logged_group_members (or
// a channel) logs its creation at no seq, and a token from before it has no
// position in it; the catch-up loaded none of its events and moved the
// position to its end, so what was sent before that sync never came.
TEST_F(SyncTest, AConversationFollowedBySeqMadeWhileAwayComesWithItsMessages) {
  limits.logged_group_members = 3;
  UserId third = db.AddUser("third"), fourth = db.AddUser("fourth");
  SyncPosition pos = Sync(me, std::nullopt).position;
  ConversationId g = Group(friend_, {me, third, fourth});
  ConversationId ch = Group(friend_, {me}, ConversationKind::kChannel);
  Seq g_last = 0, ch_last = 0;
  for (int i = 0; i < 3; ++i) {
    g_last = Send(friend_, g, "to the group " + std::to_string(i));
    ch_last = Send(friend_, ch, "to the channel " + std::to_string(i));
  }
  auto r = Sync(me, pos);
  for (auto [c, last] : {std::pair{g, g_last}, std::pair{ch, ch_last}}) {
    const ConversationCatchUp* got = Find(r, c);
    ASSERT_NE(got, nullptr);
    std::set<Seq> seqs;
    for (const auto& e : got->events) seqs.insert(e.seq);
    for (Seq s = 1; s <= last; ++s) EXPECT_TRUE(seqs.contains(s)) << c << ": seq " << s << " never came";
  }
}

// A group that grows past logged_group_members switches to being followed by
// seq: each member's log says where, so a token from before the switch (which
// names no position in it) misses nothing of what came after.
TEST_F(SyncTest, AGroupGrowingPastTheLoggedSizeMissesNothingAtTheSwitch) {
  limits.logged_group_members = 3;
  UserId third = db.AddUser("third"), fourth = db.AddUser("fourth");
  ConversationId g = Group(friend_, {me, third});
  Send(friend_, g, "three of us");
  SyncPosition pos = Sync(me, std::nullopt).position;
  EXPECT_EQ(pos.by_seq.count(g), 0u);
  Seq before = Send(friend_, g, "still three");
  ASSERT_TRUE(AddMembers(db.txn(), Ctx(friend_), limits, g, {fourth}, Role::kMember, {}).ok());
  Seq after = Send(friend_, g, "four now");
  auto r = Sync(me, pos);
  const ConversationCatchUp* c = Find(r, g);
  ASSERT_NE(c, nullptr);
  std::set<Seq> got;
  for (const auto& e : c->events) got.insert(e.seq);
  for (Seq s = before; s <= after; ++s) EXPECT_TRUE(got.contains(s)) << "seq " << s << " missed";
  EXPECT_EQ(r.position.by_seq.at(g), after);
  // And from then on by position alone.
  Seq later = Send(friend_, g, "later");
  auto next = Sync(me, r.position);
  c = Find(next, g);
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->events.size(), 1u);
  EXPECT_EQ(c->events[0].seq, later);
}

TEST_F(SyncTest, TokensTooOldOrAheadOfTheLogAskForResync) {
  limits.update_log_retention = 4;
  ConversationId d = Direct(me, friend_);
  SyncPosition old = Sync(me, std::nullopt).position;
  for (int i = 0; i < 20; ++i) Send(friend_, d, "m");
  auto r = Sync(me, old);
  EXPECT_TRUE(r.resync_required);
  EXPECT_TRUE(r.conversations.empty());
  // Ahead of the log (only a signed token of ours can say so): the data was
  // restored to an earlier point, and later entries will reuse those numbers.
  SyncPosition future;
  future.pts = {1'000'000};
  auto ahead = CatchUp(db.txn(), Ctx(me), limits, future);
  ASSERT_TRUE(ahead.ok());
  EXPECT_TRUE(ahead->resync_required);
}

TEST(MergeCatchUps, OnlyAnInstanceThatIsDownKeepsTheOldPosition) {
  SyncPosition since;
  since.pts = {4, 9};
  since.by_seq = {{100, 3}, {101, 7}};
  auto on_partition = [](ConversationId id) { return static_cast<int>(id % 2); };
  SyncResult up;
  up.position.pts = {6};
  up.position.by_seq = {{100, 5}};
  std::vector<Result<SyncResult>> parts;
  parts.emplace_back(up);
  parts.emplace_back(Unavailable("partition 1 is down"));
  auto merged = MergeCatchUps(std::move(parts), since, on_partition);
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(merged->position.pts, (std::vector<int64_t>{6, 9}));
  EXPECT_EQ(merged->position.by_seq, (std::map<ConversationId, Seq>{{100, 5}, {101, 7}}));

  std::vector<Result<SyncResult>> broken;
  broken.emplace_back(up);
  broken.emplace_back(Internal("storage error"));
  auto failed = MergeCatchUps(std::move(broken), since, on_partition);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::kInternal);
}

TEST(MergeCatchUps, AFreshCatchUpKeepsTheNewestOfAllPartitions) {
  auto part = [](std::vector<std::pair<ConversationId, int64_t>> convs) {
    SyncResult r;
    r.position.pts = {1};
    for (auto [id, activity] : convs) {
      ConversationCatchUp c;
      c.id = c.conversation.id = id;
      c.conversation.last_activity = activity;
      r.conversations.push_back(c);
    }
    return r;
  };
  std::vector<Result<SyncResult>> parts;
  parts.emplace_back(part({{1, 10}, {3, 30}}));
  parts.emplace_back(part({{2, 20}, {4, 40}}));
  auto merged = MergeCatchUps(
      std::move(parts), std::nullopt, [](ConversationId id) { return int(id % 2); }, 3);
  ASSERT_TRUE(merged.ok());
  std::vector<ConversationId> ids;
  for (const auto& c : merged->conversations) ids.push_back(c.id);
  EXPECT_EQ(ids, (std::vector<ConversationId>{4, 3, 2}));
}

// Pages through a catch-up as a client does, joined as for one partition:
// every answer until `more` is false. Returns the answers.
std::vector<SyncResult> SyncToTheEnd(testing::TempDb& db, const ChatLimits& limits, UserId u,
                                     std::optional<SyncPosition> since) {
  std::vector<SyncResult> answers;
  for (int i = 0; i < 100; ++i) {
    std::vector<Result<SyncResult>> parts;
    parts.push_back(CatchUp(db.txn(), Context{u, db.clock.NowMs()}, limits, since));
    auto r = MergeCatchUps(
        std::move(parts), since, [](ConversationId) { return 0; }, static_cast<size_t>(limits.max_sync_conversations));
    EXPECT_TRUE(r.ok()) << r.error().message;
    EXPECT_FALSE(r->resync_required) << r->reason;
    EXPECT_LE(r->conversations.size(), static_cast<size_t>(limits.max_sync_conversations));
    since = r->position;
    bool more = r->more;
    answers.push_back(std::move(*r));
    if (!more) break;
  }
  return answers;
}

std::set<ConversationId> Ids(const std::vector<SyncResult>& answers) {
  std::set<ConversationId> ids;
  for (const auto& a : answers) {
    for (const auto& c : a.conversations) ids.insert(c.id);
  }
  return ids;
}

// The defect this guards against: a fresh sync kept only the newest 2,000
// conversations, so a user put into thousands of groups lost real chats.
TEST_F(SyncTest, AFreshSyncPagesThroughEveryConversation) {
  limits.max_sync_conversations = 3;
  std::set<ConversationId> all;
  for (int i = 0; i < 7; ++i) all.insert(Direct(me, db.AddUser("p" + std::to_string(i))));
  auto answers = SyncToTheEnd(db, limits, me, std::nullopt);
  // 3 + 3 + 1 listed, then the changes made while listing (none here).
  ASSERT_EQ(answers.size(), 4u);
  EXPECT_EQ(answers[0].conversations.size(), 3u);
  EXPECT_TRUE(answers[0].position.listing.has_value());
  EXPECT_EQ(answers[2].conversations.size(), 1u);
  EXPECT_FALSE(answers[2].position.listing.has_value());
  EXPECT_TRUE(answers[3].conversations.empty());
  EXPECT_EQ(Ids(answers), all);
}

TEST_F(SyncTest, WhatChangesWhileAFreshSyncPagesComesWithTheSyncsAfter) {
  limits.max_sync_conversations = 2;
  std::vector<ConversationId> convs;
  for (int i = 0; i < 5; ++i) convs.push_back(Direct(me, db.AddUser("q" + std::to_string(i))));
  std::vector<Result<SyncResult>> parts;
  parts.push_back(CatchUp(db.txn(), Ctx(me), limits, std::nullopt));
  auto first = MergeCatchUps(
      std::move(parts), std::nullopt, [](ConversationId) { return 0; }, 2);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(first->more);
  // A message in a conversation the first page already sent.
  ConversationId listed = first->conversations.front().id;
  Send(me, listed, "news");
  auto rest = SyncToTheEnd(db, limits, me, first->position);
  bool seen = false;
  for (const auto& a : rest) {
    for (const auto& c : a.conversations) {
      for (const auto& e : c.events) seen |= c.id == listed && e.text == "news";
    }
  }
  EXPECT_TRUE(seen) << "a change after the first page was lost";
}

// The defect this guards against: a sync with a token answered
// resync_required once more than 2,000 conversations had changed.
TEST_F(SyncTest, ManyChangedConversationsComeInPagesNotAsResyncRequired) {
  limits.max_sync_conversations = 3;
  SyncPosition pos = Sync(me, std::nullopt).position;
  std::set<ConversationId> changed;
  for (int i = 0; i < 8; ++i) changed.insert(Direct(db.AddUser("r" + std::to_string(i)), me));
  auto answers = SyncToTheEnd(db, limits, me, pos);
  ASSERT_EQ(answers.size(), 3u);  // 3 + 3 + 2
  EXPECT_TRUE(answers[0].more);
  EXPECT_FALSE(answers[2].more);
  EXPECT_EQ(Ids(answers), changed);
  // The position moved to the end: nothing is left.
  auto after = Sync(me, answers.back().position);
  EXPECT_TRUE(after.conversations.empty());
}

// The defect this guards against: a page that stops early kept the token's
// large-conversation positions but still moved a large conversation it loaded
// (named by a log entry about the user) to its last seq, so the events before
// that entry were never sent.
TEST_F(SyncTest, AnEarlyPageSendsALargeConversationFromTheTokensPosition) {
  limits.max_sync_conversations = 2;
  ConversationId ch = Group(friend_, {me}, ConversationKind::kChannel);
  SyncPosition pos;
  for (const auto& a : SyncToTheEnd(db, limits, me, std::nullopt)) pos = a.position;
  for (int i = 0; i < 5; ++i) Send(friend_, ch, "post " + std::to_string(i));
  // A log entry about me in the channel, then three other changes: two pages.
  ASSERT_TRUE(ChangeRole(db.txn(), Ctx(friend_), limits, ch, me, Role::kReadOnly).ok());
  for (int i = 0; i < 3; ++i) Direct(db.AddUser("t" + std::to_string(i)), me);
  auto answers = SyncToTheEnd(db, limits, me, pos);
  ASSERT_GE(answers.size(), 2u);
  std::set<Seq> got;
  for (const auto& a : answers) {
    for (const auto& c : a.conversations) {
      if (c.id != ch) continue;
      for (const auto& e : c.events) got.insert(e.seq);
      for (Seq s = c.gap_from; c.gap_from > 0 && s <= c.gap_to; ++s) got.insert(s);
    }
  }
  std::set<Seq> all;
  for (Seq s = 1; s <= 6; ++s) all.insert(s);
  EXPECT_EQ(got, all) << "events of the large channel were skipped";
}

}  // namespace
}  // namespace natter::chat
