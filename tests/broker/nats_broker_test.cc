// The NATS broker against a real nats-server: events cross only to nodes with
// a recipient online, never come back to their publisher, survive neither a
// NATS outage nor block local delivery during one, and flow again after it.
//
// Ordering without sleeps: a node's subscription changes and its later
// publishes travel on one connection, which the server handles in order. So
// once a "ping" a node published after some change has arrived elsewhere, the
// change is in force (Barrier below).
#include "broker/nats/nats_broker.h"

#include <gtest/gtest.h>
#include <nats/nats.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "broker/nats_server_process.h"

namespace natter {
namespace {

using namespace std::chrono_literals;

template <class Pred>
bool Eventually(Pred pred, std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// Records what a broker hands to its node.
class RecordingSink : public EventSink {
 public:
  void Deliver(const Event& event) override {
    std::lock_guard lock(mu_);
    events_.push_back(event);
  }
  void EventsMayBeLost() override { ++lost_; }
  void FollowedLate(const std::vector<UserId>& users) override {
    std::lock_guard lock(mu_);
    for (UserId u : users) ++followed_late_[u];
  }
  // How often `user` was told to sync because this node began following one
  // of their conversations late.
  int FollowedLateCount(UserId user) const {
    std::lock_guard lock(mu_);
    auto it = followed_late_.find(user);
    return it == followed_late_.end() ? 0 : it->second;
  }

  int Count(ConversationId c, Seq seq) const {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const auto& e : events_) n += e.conversation_id == c && e.seq == seq;
    return n;
  }
  // The request id of the event with `seq` in conversation `c` (empty: none seen).
  RequestId RequestOf(ConversationId c, Seq seq) const {
    std::lock_guard lock(mu_);
    for (const auto& e : events_) {
      if (e.conversation_id == c && e.seq == seq) return e.request_id;
    }
    return {};
  }
  int CountConversation(ConversationId c) const {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const auto& e : events_) n += e.conversation_id == c;
    return n;
  }
  // Events with `needle` in their frame that name `user` as a recipient.
  int CountFor(UserId user, const std::string& needle) const {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const auto& e : events_) {
      if (!e.payload || e.payload->find(needle) == std::string::npos) continue;
      for (const auto& r : e.recipients) n += r.user == user;
    }
    return n;
  }
  int CountPayload(const std::string& needle) const {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const auto& e : events_) n += e.payload && e.payload->find(needle) != std::string::npos;
    return n;
  }
  // Payload-less events that close session `s`.
  int Revocations(SessionId s) const {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const auto& e : events_) n += e.revoke_session == s && !e.payload;
    return n;
  }
  // The first event of conversation `c` at `seq` (the test checks it exists).
  Event Find(ConversationId c, Seq seq) const {
    std::lock_guard lock(mu_);
    for (const auto& e : events_) {
      if (e.conversation_id == c && e.seq == seq) return e;
    }
    return {};
  }
  int lost() const { return lost_; }

 private:
  mutable std::mutex mu_;
  std::vector<Event> events_;
  std::map<UserId, int> followed_late_;
  std::atomic<int> lost_{0};
};

// Fixed memberships; answers at once, or holds answers until Release() when
// `defer` is set.
class FakeLister {
 public:
  using Answer = std::function<void(Result<std::vector<ConversationId>>)>;

  void Set(UserId user, std::vector<ConversationId> conversations) {
    std::lock_guard lock(mu_);
    memberships_[user] = std::move(conversations);
  }
  void Defer() {
    std::lock_guard lock(mu_);
    defer_ = true;
  }
  ConversationLister Function() {
    return [this](UserId user, Answer answer) { List(user, std::move(answer)); };
  }
  // How many list requests are held back.
  size_t Held() const {
    std::lock_guard lock(mu_);
    return held_.size();
  }
  // Answers everything held back, from another thread.
  void Release() {
    std::vector<std::pair<UserId, Answer>> held;
    {
      std::lock_guard lock(mu_);
      held.swap(held_);
      defer_ = false;
    }
    std::thread([this, held = std::move(held)] {
      for (const auto& [user, answer] : held) answer(Lookup(user));
    }).join();
  }

 private:
  void List(UserId user, Answer answer) {
    {
      std::lock_guard lock(mu_);
      if (defer_) {
        held_.emplace_back(user, std::move(answer));
        return;
      }
    }
    answer(Lookup(user));
  }
  std::vector<ConversationId> Lookup(UserId user) {
    std::lock_guard lock(mu_);
    auto it = memberships_.find(user);
    return it == memberships_.end() ? std::vector<ConversationId>{} : it->second;
  }

  mutable std::mutex mu_;
  std::map<UserId, std::vector<ConversationId>> memberships_;
  bool defer_ = false;
  std::vector<std::pair<UserId, Answer>> held_;
};

// One natterd's view: its sink, its store's memberships, its broker.
struct Node {
  RecordingSink sink;
  FakeLister lister;
  std::unique_ptr<Broker> broker;  // last: destroyed first
};

Event Timeline(ConversationId c, Seq seq, std::vector<UserId> users, uint64_t origin = 0) {
  Event e;
  e.conversation_id = c;
  e.seq = seq;
  e.origin_connection = origin;
  for (UserId u : users) e.recipients.push_back({u, seq * 10 + u});
  e.payload =
      std::make_shared<const std::string>(R"({"type":"message","message":{"seq":)" + std::to_string(seq) + "}}");
  return e;
}

Event Presence(std::vector<UserId> users, const std::string& token) {
  Event e;
  for (UserId u : users) e.recipients.push_back({u, 0});
  e.payload = std::make_shared<const std::string>(R"({"type":"presence","token":")" + token + "\"}");
  return e;
}

class NatsBrokerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = testing::NatsServerProcess::FreePort();
    ASSERT_NE(port_, 0);
    server_ = std::make_unique<testing::NatsServerProcess>(port_);
    ASSERT_TRUE(server_->Start()) << "cannot start nats-server (package nats-server)";
  }

  std::unique_ptr<Node> MakeNode(const std::string& name,
                                 std::map<UserId, std::vector<ConversationId>> memberships = {},
                                 bool defer_lister = false) {
    auto node = std::make_unique<Node>();
    for (auto& [user, conversations] : memberships) node->lister.Set(user, conversations);
    if (defer_lister) node->lister.Defer();
    NatsBrokerOptions options;
    options.servers = {server_->Url()};
    options.name = name;
    options.reconnect_wait_ms = 100;
    node->broker = MakeNatsBroker(options, node->sink, node->lister.Function());
    return node;
  }

  // Brings `user` online at `node` and returns once `node` follows the user's
  // conversations at the server (UserOnline's ready): a barrier on a user
  // subject does not cover conversation subscriptions.
  void OnlineAndFollowing(Node& node, UserId user) {
    std::promise<void> ready;
    node.broker->UserOnline(user, [&ready] { ready.set_value(); });
    ASSERT_EQ(ready.get_future().wait_for(10s), std::future_status::ready) << "user " << user << " not followed";
  }

  // Returns once every subscription change `from` made before the call is in
  // force at the server: `from` pings `user`, online at `to`, until a ping
  // arrives there. The retries only cover `to`'s own subscription settling.
  void Barrier(Node& from, Node& to, UserId user) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      std::string token = "ping-" + std::to_string(++pings_);
      from.broker->Publish(Presence({user}, token));
      if (Eventually([&] { return to.sink.CountPayload(token) > 0; }, 300ms)) return;
    }
    ADD_FAILURE() << "no ping reached user " << user << " in 10 s";
  }

  int port_ = 0;
  std::unique_ptr<testing::NatsServerProcess> server_;
  int pings_ = 0;
};

TEST_F(NatsBrokerTest, TimelineEventCrossesOnlyToNodesWithARecipientOnline) {
  auto a = MakeNode("a", {{1, {7}}});
  auto b = MakeNode("b", {{2, {7}}});
  auto c = MakeNode("c", {{3, {9}}});
  a->broker->UserOnline(1);
  c->broker->UserOnline(3);

  // Nobody of conversation 7 is on b yet.
  a->broker->Publish(Timeline(7, 1, {1, 2}, 42));
  // Local delivery is immediate, with the origin connection kept.
  ASSERT_EQ(a->sink.Count(7, 1), 1);
  EXPECT_EQ(a->sink.Find(7, 1).origin_connection, 42u);
  // The server has handled that publish (with no one to send it to) once a
  // later ping from a arrives.
  Barrier(*a, *c, 3);

  b->broker->UserOnline(2);
  Barrier(*b, *a, 1);
  Barrier(*c, *a, 1);
  a->broker->Publish(Timeline(7, 2, {1, 2}, 42));
  ASSERT_TRUE(Eventually([&] { return b->sink.Count(7, 2) == 1; }));

  Event remote = b->sink.Find(7, 2);
  EXPECT_EQ(remote.origin_connection, 0u);
  ASSERT_EQ(remote.recipients.size(), 2u);
  EXPECT_EQ(remote.recipients[1].user, 2);
  EXPECT_EQ(remote.recipients[1].pts, 22);
  ASSERT_TRUE(remote.payload);
  EXPECT_EQ(*remote.payload, *Timeline(7, 2, {}).payload);

  // Whatever a or c would wrongly have received precedes these pings.
  Barrier(*a, *c, 3);
  Barrier(*a, *b, 2);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(b->sink.Count(7, 1), 0) << "published before b had interest";
  EXPECT_EQ(b->sink.Count(7, 2), 1) << "delivered twice";
  EXPECT_EQ(a->sink.Count(7, 2), 1) << "the publisher got its own event back";
  EXPECT_EQ(c->sink.CountConversation(7), 0) << "c has no member of conversation 7 online";
}

TEST_F(NatsBrokerTest, PresenceReachesRemoteOnlineUsersOncePerNode) {
  auto a = MakeNode("a", {{1, {}}});
  auto b = MakeNode("b", {{2, {}}, {4, {}}});
  auto c = MakeNode("c", {{3, {}}});
  a->broker->UserOnline(1);
  b->broker->UserOnline(2);
  b->broker->UserOnline(4);
  c->broker->UserOnline(3);
  Barrier(*b, *a, 1);
  Barrier(*c, *a, 1);

  // Two recipients on b: a copy for each on their own subject, each naming
  // only its recipient (a copy does not carry every contact of the user).
  a->broker->Publish(Presence({2, 4, 99}, "online-1"));
  ASSERT_TRUE(Eventually([&] { return b->sink.CountFor(2, "online-1") == 1 && b->sink.CountFor(4, "online-1") == 1; }));

  Barrier(*a, *c, 3);
  Barrier(*a, *b, 2);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(b->sink.CountFor(2, "online-1"), 1) << "delivered twice to user 2";
  EXPECT_EQ(b->sink.CountFor(4, "online-1"), 1) << "delivered twice to user 4";
  EXPECT_EQ(b->sink.CountPayload("online-1"), 2) << "a copy carried more than its recipient";
  EXPECT_EQ(c->sink.CountPayload("online-1"), 0);
  EXPECT_EQ(a->sink.CountPayload("online-1"), 1);
}

TEST_F(NatsBrokerTest, OnceUserOnlineIsReadyEventsForTheUserArrive) {
  auto a = MakeNode("a", {{1, {7}}});
  a->broker->UserOnline(1);
  for (int round = 0; round < 20; ++round) {
    // A fresh node each round: its subscriptions are new at the server.
    auto b = MakeNode("b" + std::to_string(round), {{2, {7}}});
    std::promise<void> ready;
    b->broker->UserOnline(2, [&ready] { ready.set_value(); });
    ASSERT_EQ(ready.get_future().wait_for(10s), std::future_status::ready);
    // No barrier: "ready" alone must mean the server routes conversation 7 to b.
    a->broker->Publish(Timeline(7, 100 + round, {1, 2}));
    ASSERT_TRUE(Eventually([&] { return b->sink.Count(7, 100 + round) == 1; }, 3s)) << "round " << round;
  }
}

TEST_F(NatsBrokerTest, ANodeThatLostEventsMakesEveryNodeResync) {
  auto a = MakeNode("a", {{1, {}}});
  auto b = MakeNode("b", {{2, {}}});
  a->broker->UserOnline(1);
  b->broker->UserOnline(2);
  Barrier(*b, *a, 1);
  Barrier(*a, *b, 2);
  int a_before = a->sink.lost(), b_before = b->sink.lost();
  // What a node sends on reconnecting (its own link was down; the others' was not).
  natsConnection* raw = nullptr;
  ASSERT_EQ(natsConnection_ConnectTo(&raw, server_->Url().c_str()), NATS_OK);
  ASSERT_EQ(natsConnection_PublishString(raw, "natter.lost", ""), NATS_OK);
  ASSERT_EQ(natsConnection_Flush(raw), NATS_OK);
  natsConnection_Destroy(raw);
  EXPECT_TRUE(Eventually([&] { return a->sink.lost() > a_before && b->sink.lost() > b_before; }));
}

TEST_F(NatsBrokerTest, SessionRevocationCrossesWithoutPayload) {
  auto a = MakeNode("a", {{1, {}}});
  auto b = MakeNode("b", {{2, {}}});
  a->broker->UserOnline(1);
  b->broker->UserOnline(2);
  Barrier(*b, *a, 1);

  Event logout;
  logout.recipients = {{2, 0}};
  logout.revoke_session = 555;
  a->broker->Publish(logout);
  ASSERT_TRUE(Eventually([&] { return b->sink.Revocations(555) == 1; }));
  EXPECT_EQ(a->sink.Revocations(555), 1);
}

TEST_F(NatsBrokerTest, TheRequestIdCrossesInAHeader) {
  auto a = MakeNode("a", {{1, {77}}});
  auto b = MakeNode("b", {{2, {77}}});
  a->broker->UserOnline(1);
  b->broker->UserOnline(2);
  Barrier(*b, *a, 1);

  Event traced;
  traced.recipients = {{1, 1}, {2, 1}};
  traced.payload = std::make_shared<const std::string>(R"({"type":"message"})");
  traced.conversation_id = 77;
  traced.seq = 3;
  traced.request_id = RequestId{0x1111, 0x2222};
  a->broker->Publish(traced);
  ASSERT_TRUE(Eventually([&] { return b->sink.Count(77, 3) == 1; }));
  EXPECT_EQ(b->sink.RequestOf(77, 3), (RequestId{0x1111, 0x2222}));
  // Without an id, no header, and none arrives.
  traced.seq = 4;
  traced.request_id = {};
  a->broker->Publish(traced);
  ASSERT_TRUE(Eventually([&] { return b->sink.Count(77, 4) == 1; }));
  EXPECT_TRUE(b->sink.RequestOf(77, 4).empty());
}

TEST_F(NatsBrokerTest, SharedConversationSubscriptionEndsWithItsLastLocalMember) {
  auto a = MakeNode("a", {{1, {7}}});
  auto b = MakeNode("b", {{2, {7}}, {4, {7}}, {5, {8}}});
  OnlineAndFollowing(*a, 1);
  OnlineAndFollowing(*b, 2);
  OnlineAndFollowing(*b, 4);
  OnlineAndFollowing(*b, 5);
  Barrier(*b, *a, 1);
  a->broker->Publish(Timeline(7, 1, {1, 2, 4}));
  ASSERT_TRUE(Eventually([&] { return b->sink.Count(7, 1) == 1; }));

  b->broker->UserOffline(2);
  Barrier(*b, *a, 1);
  a->broker->Publish(Timeline(7, 2, {1, 2, 4}));
  EXPECT_TRUE(Eventually([&] { return b->sink.Count(7, 2) == 1; })) << "4 is still a member online on b";

  b->broker->UserOffline(4);
  Barrier(*b, *a, 1);
  a->broker->Publish(Timeline(7, 3, {1, 2, 4}));
  Barrier(*a, *b, 5);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(b->sink.Count(7, 3), 0) << "b still listens on conversation 7 with no member online";
}

TEST_F(NatsBrokerTest, ConversationEventSubscribesNewMembers) {
  auto a = MakeNode("a", {{1, {7}}});
  auto b = MakeNode("b", {{2, {}}});  // 2 is in no conversation yet
  a->broker->UserOnline(1);
  b->broker->UserOnline(2);
  Barrier(*b, *a, 1);

  // 2 is added to conversation 7 on a's node.
  Event added;
  added.recipients = {{1, 5}, {2, 3}};
  added.payload = std::make_shared<const std::string>(
      R"({"type":"conversation","conversation":{"id":7,"kind":"group","members":[]}})");
  a->broker->Publish(added);
  ASSERT_TRUE(Eventually([&] { return b->sink.CountPayload(R"("type":"conversation")") == 1; }));

  Barrier(*b, *a, 1);
  a->broker->Publish(Timeline(7, 1, {1, 2}));
  EXPECT_TRUE(Eventually([&] { return b->sink.Count(7, 1) == 1; })) << "b did not start listening on conversation 7";
}

// Another node may publish in a conversation before this one listens on it
// (a message sent right after it was made): the members it subscribed for are
// told to sync once the subscription is in place, and only they.
TEST_F(NatsBrokerTest, ANodeThatBeginsFollowingAConversationTellsThoseMembersToSync) {
  auto a = MakeNode("a", {{1, {7}}});
  auto b = MakeNode("b", {{2, {}}, {3, {9}}, {4, {}}});
  OnlineAndFollowing(*a, 1);
  OnlineAndFollowing(*b, 2);
  OnlineAndFollowing(*b, 3);
  OnlineAndFollowing(*b, 4);
  Barrier(*b, *a, 1);

  // 2 and 4, both on b, are added to 7: b begins to listen for both.
  Event added;
  added.recipients = {{1, 5}, {2, 3}, {4, 1}};
  added.payload = std::make_shared<const std::string>(R"({"type":"conversation","conversation":{"id":7}})");
  a->broker->Publish(added);
  ASSERT_TRUE(Eventually([&] { return b->sink.FollowedLateCount(2) == 1 && b->sink.FollowedLateCount(4) == 1; }));
  EXPECT_EQ(a->sink.FollowedLateCount(1), 0);  // a listened on 7 already

  // Told again: b listens already, so no one syncs for it.
  a->broker->Publish(added);
  ASSERT_TRUE(Eventually([&] { return b->sink.CountPayload(R"("id":7)") == 2; }));
  // 3 joins 9, which b follows for 3 already: nothing was missed.
  Event joined;
  joined.recipients = {{3, 4}};
  joined.payload = std::make_shared<const std::string>(R"({"type":"conversation","conversation":{"id":9}})");
  a->broker->Publish(joined);
  ASSERT_TRUE(Eventually([&] { return b->sink.CountPayload(R"("id":9)") == 1; }));
  Barrier(*a, *b, 2);
  EXPECT_FALSE(Eventually([&] { return b->sink.FollowedLateCount(2) > 1 || b->sink.FollowedLateCount(3) > 0; }, 300ms));

  // A conversation made on b: a begins to follow it late; b subscribed before
  // it published, so its own member missed nothing.
  Event created;
  created.recipients = {{1, 6}, {2, 4}};
  created.payload = std::make_shared<const std::string>(R"({"type":"conversation","conversation":{"id":11}})");
  b->broker->Publish(created);
  EXPECT_TRUE(Eventually([&] { return a->sink.FollowedLateCount(1) == 1; }));
  EXPECT_EQ(b->sink.FollowedLateCount(2), 1);
}

TEST_F(NatsBrokerTest, LocalConversationEventSubscribesLocalMembers) {
  auto a = MakeNode("a", {{1, {}}});
  auto b = MakeNode("b", {{2, {}}});
  a->broker->UserOnline(1);
  b->broker->UserOnline(2);
  Barrier(*b, *a, 1);

  // 2 creates conversation 8 with 1 on b's node: b must listen for its timeline.
  Event created;
  created.recipients = {{1, 1}, {2, 1}};
  created.payload = std::make_shared<const std::string>(R"({"type":"conversation","conversation":{"id":8}})");
  b->broker->Publish(created);
  EXPECT_EQ(b->sink.CountPayload(R"("id":8)"), 1);
  ASSERT_TRUE(Eventually([&] { return a->sink.CountPayload(R"("id":8)") == 1; }));

  Barrier(*b, *a, 1);
  Barrier(*a, *b, 2);
  a->broker->Publish(Timeline(8, 1, {1, 2}));
  EXPECT_TRUE(Eventually([&] { return b->sink.Count(8, 1) == 1; }));
}

TEST_F(NatsBrokerTest, MembershipAnswerForAnEarlierTimeOnlineIsIgnored) {
  auto a = MakeNode("a", {{1, {7}}});
  auto b = MakeNode("b", {{2, {7}}, {5, {}}}, /*defer_lister=*/true);
  a->broker->UserOnline(1);
  b->broker->UserOnline(5);
  b->broker->UserOnline(2);
  b->broker->UserOffline(2);
  b->lister.Release();  // 2's answer arrives after 2 left

  Barrier(*b, *a, 1);
  a->broker->Publish(Timeline(7, 1, {1, 2}));
  Barrier(*a, *b, 5);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(b->sink.Count(7, 1), 0) << "b listens on 7 for a user who left";

  // A late answer for the current time online does count.
  b->lister.Defer();
  b->broker->UserOnline(2);
  b->lister.Release();
  Barrier(*b, *a, 1);
  a->broker->Publish(Timeline(7, 2, {1, 2}));
  EXPECT_TRUE(Eventually([&] { return b->sink.Count(7, 2) == 1; }));
}

TEST_F(NatsBrokerTest, MembershipAnswerAfterTheBrokerIsGoneStillSaysReady) {
  auto b = MakeNode("b", {{2, {7}}}, /*defer_lister=*/true);
  std::atomic<int> ready{0};
  b->broker->UserOnline(2, [&ready] { ++ready; });
  ASSERT_TRUE(Eventually([&] { return b->lister.Held() == 1; })) << "the broker never listed the user's conversations";
  EXPECT_EQ(ready.load(), 0) << "ready before the conversations were followed";
  b->broker.reset();
  b->lister.Release();  // the answer finds no broker: nothing to follow, but the socket must not wait for ever
  EXPECT_EQ(ready.load(), 1);
}

TEST_F(NatsBrokerTest, OutageKeepsLocalDeliveryDropsRemoteAndRecovers) {
  auto a = MakeNode("a", {{1, {7}}});
  auto b = MakeNode("b", {{2, {7}}});
  // Both nodes follow conversation 7 once UserOnline says ready (a barrier
  // on the users' own subjects does not cover the conversation's).
  std::atomic<int> ready{0};
  a->broker->UserOnline(1, [&] { ++ready; });
  b->broker->UserOnline(2, [&] { ++ready; });
  ASSERT_TRUE(Eventually([&] { return ready.load() == 2; }));
  EXPECT_EQ(a->broker->State(), "connected");
  a->broker->Publish(Timeline(7, 1, {1, 2}));
  ASSERT_TRUE(Eventually([&] { return b->sink.Count(7, 1) == 1; }));
  int lost_before = b->sink.lost();

  server_->Kill();
  ASSERT_TRUE(Eventually([&] { return a->broker->State() != "connected" && b->broker->State() != "connected"; }));
  EXPECT_EQ(a->broker->State(), "reconnecting");

  a->broker->Publish(Timeline(7, 2, {1, 2}));
  EXPECT_EQ(a->sink.Count(7, 2), 1) << "local delivery must not depend on NATS";

  ASSERT_TRUE(server_->Start());
  ASSERT_TRUE(Eventually([&] { return a->broker->State() == "connected" && b->broker->State() == "connected"; }));
  EXPECT_TRUE(Eventually([&] { return b->sink.lost() > lost_before && a->sink.lost() > 0; }))
      << "clients were not told to resync after the outage";

  Barrier(*b, *a, 1);
  a->broker->Publish(Timeline(7, 3, {1, 2}));
  EXPECT_TRUE(Eventually([&] { return b->sink.Count(7, 3) == 1; })) << "events do not cross after reconnecting";
  EXPECT_EQ(b->sink.Count(7, 2), 0) << "an event published during the outage was buffered, not dropped";
}

TEST_F(NatsBrokerTest, StartsWithoutNatsAndConnectsLater) {
  server_->Stop();
  auto started = std::chrono::steady_clock::now();
  auto a = MakeNode("a", {{1, {7}}});
  auto b = MakeNode("b", {{2, {7}}});
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s) << "start-up waited for NATS";
  EXPECT_EQ(a->broker->State(), "reconnecting");
  a->broker->UserOnline(1);
  b->broker->UserOnline(2);  // subscriptions made before the link is up
  a->broker->Publish(Timeline(7, 1, {1, 2}));
  EXPECT_EQ(a->sink.Count(7, 1), 1);

  ASSERT_TRUE(server_->Start());
  ASSERT_TRUE(Eventually([&] { return a->broker->State() == "connected" && b->broker->State() == "connected"; }));
  EXPECT_TRUE(Eventually([&] { return a->sink.lost() > 0 && b->sink.lost() > 0; }));
  Barrier(*b, *a, 1);
  a->broker->Publish(Timeline(7, 2, {1, 2}));
  EXPECT_TRUE(Eventually([&] { return b->sink.Count(7, 2) == 1; }));
  EXPECT_EQ(b->sink.Count(7, 1), 0);
}

TEST_F(NatsBrokerTest, ShutdownIsPromptConnectedOrNot) {
  auto a = MakeNode("a", {{1, {7}}});
  a->broker->UserOnline(1);
  auto started = std::chrono::steady_clock::now();
  a->broker.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);

  auto b = MakeNode("b", {{2, {7}}});
  b->broker->UserOnline(2);
  server_->Kill();
  ASSERT_TRUE(Eventually([&] { return b->broker->State() != "connected"; }));
  started = std::chrono::steady_clock::now();
  b->broker.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
}

TEST(NatsBroker, RejectsUnusableOptions) {
  RecordingSink sink;
  FakeLister lister;
  EXPECT_THROW(MakeNatsBroker(NatsBrokerOptions{}, sink, lister.Function()), std::invalid_argument);
  NatsBrokerOptions options;
  options.servers = {"nats://127.0.0.1:1"};
  EXPECT_THROW(MakeNatsBroker(options, sink, nullptr), std::invalid_argument);
}

}  // namespace
}  // namespace natter
