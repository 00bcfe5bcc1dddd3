#include "presence/presence_service.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <utility>

#include "fakes/temp_db.h"
#include "store/store.h"

namespace natter {
namespace {

// Records what presence asks of the broker; `on_offline` runs inside
// UserOffline, the moment a racing connect used to slip into.
class RecordingBroker final : public Broker {
 public:
  void Publish(Event event) override {
    std::lock_guard lock(mu);
    published.push_back(std::move(event));
  }
  size_t published_count() {
    std::lock_guard lock(mu);
    return published.size();
  }
  void UserOnline(UserId, std::function<void()> ready) override {
    following = true;
    if (ready) ready();
  }
  void UserOffline(UserId) override {
    following = false;
    if (on_offline) on_offline();
  }
  std::atomic<bool> following{false};
  std::function<void()> on_offline;
  std::mutex mu;
  std::vector<Event> published;
};

// Waits until every write queued before it is committed (one writer, FIFO).
void Drain(Store& store) {
  std::promise<void> done;
  store.WriteAccounts(
      InlineExecutor(), [](AccountsTxn&) { return OkStatus(); }, [&](Status) { done.set_value(); });
  done.get_future().wait();
}

User Stored(Store& store, UserId id) {
  std::promise<User> out;
  store.ReadAccountsResult<User>(
      InlineExecutor(), [&](AccountsTxn& txn) { return Result<User>(**txn.FindUser(id)); },
      [&](Result<User> r) {
        ASSERT_TRUE(r.ok()) << "read refused";
        out.set_value(*r);
      });
  return out.get_future().get();
}

// A store with one user, and timers the test runs by hand.
class PresenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store = OpenSqliteStore(SqliteOptions{dir + "/natter.db"});
    user = User{ids.Next(), "someone", "hash", clock.NowMs()};
    std::promise<Status> inserted;
    store->WriteAccounts(
        InlineExecutor(), [&](AccountsTxn& txn) { return txn.InsertUser(user); },
        [&](Status st) { inserted.set_value(st); });
    ASSERT_TRUE(inserted.get_future().get().ok());
  }
  void TearDown() override {
    store->Shutdown();
    std::filesystem::remove_all(dir);
  }
  // Runs the timers for `ms`, then lets what the store answered run too.
  void RunTimers(int ms) {
    timers.run_for(std::chrono::milliseconds(ms));
    Drain(*store);
    timers.restart();
    timers.run_for(std::chrono::milliseconds(20));
  }

  std::string dir = testing::MakeTempDir("natter-presence");
  std::unique_ptr<Store> store;
  ManualClock clock{1'800'000'000'000};
  IdGenerator ids{clock, 3};
  User user;
  boost::asio::io_context timers;
  RecordingBroker broker;
};

// The grace period ends and, while its offline change is being queued, the
// user's phone connects again. The user must end online: in the store (so
// other nodes' presence.get agree), to the broker (so events keep coming)
// and here.
TEST_F(PresenceTest, ReconnectRacingTheEndOfTheGracePeriodLeavesTheUserOnline) {
  const int node = 3;
  presence::PresenceService presence(*store, broker, clock, timers, /*grace_ms=*/1, node);
  std::thread reconnect;
  std::atomic<bool> reconnected{false};
  bool fired = false;
  broker.on_offline = [&] {
    if (std::exchange(fired, true)) return;
    reconnect = std::thread([&] {
      presence.Connected(user.id);
      reconnected = true;
    });
    // Give the connect every chance to run inside the window; with the
    // transitions serialised it waits for this one to finish instead.
    for (int i = 0; i < 50 && !reconnected; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  };

  presence.Connected(user.id);
  presence.Disconnected(user.id);
  timers.run_for(std::chrono::milliseconds(50));  // the grace period ends: WentOffline
  ASSERT_TRUE(reconnect.joinable()) << "the grace period never ended";
  reconnect.join();
  RunTimers(0);  // the offline write's completion

  EXPECT_TRUE(presence.IsOnline(user.id));
  EXPECT_TRUE(broker.following) << "the node stopped following an online user";
  EXPECT_NE(Stored(*store, user.id).online_nodes & (int64_t{1} << node), 0) << "stored as offline while connected";
  store->Shutdown();  // reads presence started still point at it: they end before it does
}

// Without a race, the end of the grace period stores the user offline and
// stops following them.
TEST_F(PresenceTest, GracePeriodEndStoresOffline) {
  presence::PresenceService presence(*store, broker, clock, timers, /*grace_ms=*/1, /*node_id=*/1);
  presence.Connected(user.id);
  Drain(*store);
  EXPECT_NE(Stored(*store, user.id).online_nodes & 2, 0);
  presence.Disconnected(user.id);
  EXPECT_TRUE(presence.IsOnline(user.id));  // within the grace period
  RunTimers(30);
  EXPECT_FALSE(presence.IsOnline(user.id));
  EXPECT_FALSE(broker.following);
  User stored = Stored(*store, user.id);
  EXPECT_EQ(stored.online_nodes, 0);
  EXPECT_EQ(stored.last_seen, clock.NowMs());
  store->Shutdown();  // reads presence started still point at it: they end before it does
}

// A lone node (no other node reads its store) keeps its connections in
// memory: a connect writes nothing, and going offline stores last-seen only.
TEST_F(PresenceTest, ALoneNodeStoresLastSeenButNotItsConnections) {
  presence::PresenceService presence(*store, broker, clock, timers, /*grace_ms=*/1, /*node_id=*/1,
                                     /*shared_store=*/false);
  presence.Connected(user.id);
  Drain(*store);
  EXPECT_EQ(Stored(*store, user.id).online_nodes, 0) << "a connect wrote to the store";
  EXPECT_TRUE(presence.IsOnline(user.id));
  EXPECT_TRUE(presence.IsOnline(Stored(*store, user.id)));
  presence.Disconnected(user.id);
  RunTimers(30);
  EXPECT_FALSE(presence.IsOnline(user.id));
  User stored = Stored(*store, user.id);
  EXPECT_EQ(stored.online_nodes, 0);
  EXPECT_EQ(stored.last_seen, clock.NowMs());
  EXPECT_FALSE(presence.IsOnline(stored));
  store->Shutdown();  // reads presence started still point at it: they end before it does
}

// At start a cluster node forgets only its own marks (the others' users are
// still connected there); a lone node forgets every node's, which a cluster
// shrunk to it or a changed node id left behind.
TEST_F(PresenceTest, ALoneNodeStartsWithEveryNodesMarksCleared) {
  std::promise<Status> marked;
  store->WriteAccounts(
      InlineExecutor(),
      [&](AccountsTxn& txn) -> Status {
        NATTER_RETURN_IF_ERROR(txn.SetOnlineAt(user.id, 1, true));
        return txn.SetOnlineAt(user.id, 5, true);
      },
      [&](Status st) { marked.set_value(st); });
  ASSERT_TRUE(marked.get_future().get().ok());
  {
    presence::PresenceService in_cluster(*store, broker, clock, timers, /*grace_ms=*/1, /*node_id=*/1);
    in_cluster.ForgetStoredConnections();
    EXPECT_EQ(Stored(*store, user.id).online_nodes, int64_t{1} << 5);
  }
  presence::PresenceService alone(*store, broker, clock, timers, /*grace_ms=*/1, /*node_id=*/1,
                                  /*shared_store=*/false);
  alone.ForgetStoredConnections();
  User stored = Stored(*store, user.id);
  EXPECT_EQ(stored.online_nodes, 0);
  EXPECT_FALSE(alone.IsOnline(stored)) << "shown online by a node that no longer serves";
  store->Shutdown();
}

// A connect storm: 300 contacts come online at once, more than one batch.
// Each change is told once, to its contact, in the order they came.
TEST_F(PresenceTest, AStormOfChangesIsToldOnceEachInOrder) {
  std::vector<UserId> others;
  for (int i = 0; i < 300; ++i) {
    User other{ids.Next(), "other" + std::to_string(i), "hash", clock.NowMs()};
    Conversation c;
    c.id = ids.Next();
    c.created_by = user.id;
    std::promise<Status> made;
    store->WriteAccounts(
        InlineExecutor(), [&](AccountsTxn& txn) { return txn.InsertUser(other); },
        [&](Status st) { made.set_value(st); });
    ASSERT_TRUE(made.get_future().get().ok());
    std::promise<Status> joined;
    store->Write(
        WriteKey(0, c.id), InlineExecutor(),
        [&](ConversationTxn& txn) -> Status {
          NATTER_RETURN_IF_ERROR(txn.InsertConversation(c));
          NATTER_RETURN_IF_ERROR(txn.InsertMember(Member{c.id, user.id}));
          return txn.InsertMember(Member{c.id, other.id});
        },
        [&](Status st, CommitTurn) { joined.set_value(st); });
    ASSERT_TRUE(joined.get_future().get().ok());
    others.push_back(other.id);
  }
  presence::PresenceService presence(*store, broker, clock, timers, /*grace_ms=*/1000, /*node_id=*/1);
  for (UserId other : others) presence.Connected(other);
  // Store answers are posted to the timers' loop: run it until all is told.
  for (int i = 0; i < 500 && broker.published_count() < others.size(); ++i) {
    timers.restart();
    timers.poll();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // Anything told twice would come now: reads still in flight get time to
  // answer, and their answers to run.
  for (int i = 0; i < 20; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    timers.restart();
    timers.poll();
  }
  std::lock_guard lock(broker.mu);
  ASSERT_EQ(broker.published.size(), others.size());
  EXPECT_EQ(presence.member_lists_read(), others.size());  // one conversation each
  for (size_t i = 0; i < others.size(); ++i) {
    const Event& e = broker.published[i];
    EXPECT_EQ(e.presence_of, others[i]) << "change " << i << " told out of order";
    ASSERT_EQ(e.recipients.size(), 1u);
    EXPECT_EQ(e.recipients[0].user, user.id);
    EXPECT_NE(e.payload->find("\"status\":\"online\""), std::string::npos) << *e.payload;
  }
  store->Shutdown();
}

// Member lists are kept between changes (MemberLists): one who left the
// conversation meanwhile must hear nothing more, one who joined must hear.
TEST_F(PresenceTest, WhoLeftHearsNothingMoreAndWhoJoinedHears) {
  auto add_user = [&](const std::string& handle) {
    User u{ids.Next(), handle, "hash", clock.NowMs()};
    std::promise<Status> made;
    store->WriteAccounts(
        InlineExecutor(), [&](AccountsTxn& txn) { return txn.InsertUser(u); }, [&](Status st) { made.set_value(st); });
    EXPECT_TRUE(made.get_future().get().ok());
    return u.id;
  };
  UserId stays = add_user("stays"), leaves = add_user("leaves"), joins = add_user("joins");
  Conversation c;
  c.id = ids.Next();
  c.created_by = user.id;
  auto write = [&](std::function<Status(ConversationTxn&)> fn) {
    std::promise<Status> done;
    store->Write(WriteKey(0, c.id), InlineExecutor(), fn, [&](Status st, CommitTurn) { done.set_value(st); });
    ASSERT_TRUE(done.get_future().get().ok());
  };
  write([&](ConversationTxn& txn) -> Status {
    NATTER_RETURN_IF_ERROR(txn.InsertConversation(c));
    for (UserId u : {user.id, stays, leaves}) NATTER_RETURN_IF_ERROR(txn.InsertMember(Member{c.id, u}));
    return OkStatus();
  });
  presence::PresenceService presence(*store, broker, clock, timers, /*grace_ms=*/100, /*node_id=*/1);
  auto told = [&](size_t n) {
    for (int i = 0; i < 500 && broker.published_count() < n; ++i) {
      timers.restart();
      timers.poll();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::lock_guard lock(broker.mu);
    EXPECT_EQ(broker.published.size(), n);
    std::vector<UserId> to;
    if (broker.published.size() == n) {
      for (const auto& r : broker.published.back().recipients) to.push_back(r.user);
    }
    std::sort(to.begin(), to.end());
    return to;
  };
  auto sorted = [](std::vector<UserId> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  presence.Connected(user.id);
  EXPECT_EQ(told(1), sorted({stays, leaves}));
  // A second member coming online takes the list kept for the first.
  presence.Connected(stays);
  EXPECT_EQ(told(2), sorted({user.id, leaves}));
  EXPECT_EQ(presence.member_lists_read(), 1u);
  write([&](ConversationTxn& txn) -> Status {
    NATTER_RETURN_IF_ERROR(txn.DeleteMember(c.id, leaves));
    return txn.InsertMember(Member{c.id, joins});
  });
  presence.Disconnected(user.id);
  RunTimers(150);  // the grace period ends: offline is stored, then told
  EXPECT_EQ(told(3), sorted({stays, joins}));
  EXPECT_EQ(presence.member_lists_read(), 2u);
  store->Shutdown();
}

}  // namespace
}  // namespace natter
