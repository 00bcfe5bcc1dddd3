// The push part of the Store contract: device tokens (one per session, one
// session per token), live state per node, the push queue (a burst becomes
// one job, a claim holds it for its lease, finishing keeps what came after)
// and who was alerted of what. Run on SQLite and PostgreSQL alike.
#include "store/store_contract.h"

namespace natter::testing {
namespace {

using PushStore = StoreContractTest;

PushDevice Device(SessionId session, UserId user, std::string token) {
  PushDevice d;
  d.session_id = session;
  d.user_id = user;
  d.platform = "apns";
  d.token = std::move(token);
  d.topic = "org.example.app";
  d.environment = "production";
  d.updated_at = 1;
  return d;
}

// Sessions for the devices (a device of a session that is not there is refused).
Status AddSessions(AccountsTxn& txn, std::initializer_list<std::pair<SessionId, UserId>> sessions) {
  for (auto [id, user] : sessions) NATTER_RETURN_IF_ERROR(txn.InsertSession(Session{id, user, "phone", false, 0}));
  return OkStatus();
}

TEST_P(PushStore, ATokenBelongsToOneSessionAndRevokingTheSessionDropsIt) {
  UserId a = AddUser("a"), b = AddUser("b");
  auto put = WriteAccountsSync<bool>(*store, [=](AccountsTxn& txn) -> Result<bool> {
    NATTER_RETURN_IF_ERROR(AddSessions(txn, {{11, a}, {12, a}, {21, b}}));
    NATTER_RETURN_IF_ERROR(txn.PutPushDevice(Device(11, a, "tok-1")));
    NATTER_RETURN_IF_ERROR(txn.PutPushDevice(Device(12, a, "tok-2")));
    NATTER_RETURN_IF_ERROR(txn.PutPushDevice(Device(21, b, "tok-1")));  // the phone changed hands
    NATTER_RETURN_IF_ERROR(txn.PutPushDevice(Device(12, a, "tok-3")));  // a session's new token replaces its old
    return true;
  });
  ASSERT_TRUE(put.ok()) << put.error().message;
  auto list = [&] {
    auto r = ReadAccountsSync<std::vector<PushDevice>>(*store, [=](AccountsTxn& txn) {
      return txn.ListPushDevices({a, b});
    });
    EXPECT_TRUE(r.ok());
    std::vector<std::pair<SessionId, std::string>> out;
    if (r.ok()) {
      for (const auto& d : *r) out.emplace_back(d.session_id, d.token);
    }
    return out;
  };
  using Rows = std::vector<std::pair<SessionId, std::string>>;
  EXPECT_EQ(list(), (Rows{{12, "tok-3"}, {21, "tok-1"}}));

  auto changed = WriteAccountsSync<bool>(*store, [=](AccountsTxn& txn) -> Result<bool> {
    NATTER_RETURN_IF_ERROR(txn.RevokeSession(21));
    NATTER_TRY(bool first, txn.DeletePushToken("apns", "tok-3"));
    NATTER_TRY(bool again, txn.DeletePushToken("apns", "tok-3"));
    return first && !again;
  });
  ASSERT_TRUE(changed.ok()) << changed.error().message;
  EXPECT_TRUE(*changed);
  EXPECT_EQ(list(), Rows{});
  // A revoked session, or one never made, cannot register again.
  for (SessionId gone : {SessionId{21}, SessionId{99}}) {
    auto again = WriteAccountsSync<bool>(*store, [=](AccountsTxn& txn) -> Result<bool> {
      NATTER_RETURN_IF_ERROR(txn.PutPushDevice(Device(gone, b, "tok-9")));
      return true;
    });
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code, ErrorCode::kUnauthorized);
  }
  EXPECT_EQ(list(), Rows{});
}

TEST_P(PushStore, LiveStateIsABitPerNodeAndPreviewsAreASetting) {
  UserId a = AddUser("a");
  auto r = WriteAccountsSync<bool>(*store, [=](AccountsTxn& txn) -> Result<bool> {
    NATTER_RETURN_IF_ERROR(AddSessions(txn, {{11, a}}));
    // Live before the device is registered (on another node, say): kept.
    NATTER_RETURN_IF_ERROR(txn.SetPushLive(11, 3, true, 0));
    NATTER_RETURN_IF_ERROR(txn.PutPushDevice(Device(11, a, "tok")));
    NATTER_RETURN_IF_ERROR(txn.SetPushLive(11, 15, true, 0));
    NATTER_RETURN_IF_ERROR(txn.SetPushLive(11, 3, false, 500));
    NATTER_RETURN_IF_ERROR(txn.SetPushLive(11, 3, false, 400));  // heard from earlier: the later time stays
    NATTER_RETURN_IF_ERROR(txn.SetPushPreview(a, false));
    return true;
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto find = [&] {
    auto d =
        ReadAccountsSync<std::optional<PushDevice>>(*store, [](AccountsTxn& txn) { return txn.FindPushDevice(11); });
    EXPECT_TRUE(d.ok() && d->has_value());
    return d.ok() && d->has_value() ? **d : PushDevice{};
  };
  PushDevice d = find();
  EXPECT_EQ(d.live_nodes, int64_t{1} << 15);
  EXPECT_EQ(d.last_live_at, 500);
  EXPECT_FALSE(d.show_preview);
  auto preview = ReadAccountsSync<bool>(*store, [=](AccountsTxn& txn) { return txn.GetPushPreview(a); });
  ASSERT_TRUE(preview.ok());
  EXPECT_FALSE(*preview);
  // A node starting holds no connection.
  ASSERT_TRUE(WriteAccountsSync<bool>(*store, [](AccountsTxn& txn) -> Result<bool> {
                NATTER_RETURN_IF_ERROR(txn.ClearOnlineAt(15));
                return true;
              }).ok());
  EXPECT_EQ(find().live_nodes, 0);
}

TEST_P(PushStore, NodesSeenLatelyAreTheOnesWhoseLiveBitsCount) {
  auto r = WriteAccountsSync<bool>(*store, [](AccountsTxn& txn) -> Result<bool> {
    NATTER_RETURN_IF_ERROR(txn.SeePushNode(1, 1000));
    NATTER_RETURN_IF_ERROR(txn.SeePushNode(2, 5000));
    NATTER_RETURN_IF_ERROR(txn.SeePushNode(3, 5000));
    NATTER_RETURN_IF_ERROR(txn.SeePushNode(1, 6000));
    NATTER_RETURN_IF_ERROR(txn.ForgetPushNode(3));
    return true;
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto seen = [&](int64_t since) {
    auto m = ReadAccountsSync<int64_t>(*store, [since](AccountsTxn& txn) { return txn.PushNodesSeenSince(since); });
    EXPECT_TRUE(m.ok());
    return m.ok() ? *m : -1;
  };
  EXPECT_EQ(seen(5000), (1 << 1) | (1 << 2));
  EXPECT_EQ(seen(5500), 1 << 1);
}

TEST_P(PushStore, ABurstIsOneJobClaimedForItsLease) {
  int last = store->Partitions() - 1;
  auto job = [](Seq seq, int64_t due, UserId user = 0) {
    PushJob j;
    j.conversation_id = 77;
    j.user_id = user;
    j.first_seq = seq;
    j.last_seq = seq;
    j.due_at = due;
    return j;
  };
  auto write = [&](auto fn) {
    auto r = WriteSync<bool>(*store, last, fn);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() && *r;
  };
  int64_t token = 100;
  auto claim = [&](int64_t now, int64_t lease) {
    int64_t mine = ++token;
    auto r = WriteSync<std::vector<PushJob>>(
        *store, last, [=](ConversationTxn& txn) { return txn.ClaimPushJobs(now, lease, 10, mine); });
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : std::vector<PushJob>{};
  };
  write([&](ConversationTxn& txn) -> Result<bool> {
    NATTER_RETURN_IF_ERROR(txn.QueuePush(job(1, 1000)));
    NATTER_RETURN_IF_ERROR(txn.QueuePush(job(2, 5000)));     // extends the first, keeps its time
    NATTER_RETURN_IF_ERROR(txn.QueuePush(job(2, 7000, 9)));  // a clear is a job of its own
    return true;
  });
  EXPECT_TRUE(claim(500, 2000).empty());
  auto claimed = claim(1000, 2000);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(std::make_tuple(claimed[0].first_seq, claimed[0].last_seq, claimed[0].user_id),
            std::make_tuple(Seq{1}, Seq{2}, UserId{0}));
  EXPECT_TRUE(claim(1500, 3500).empty()) << "a claimed job was handed out again within its lease";
  auto again = claim(2000, 4000);  // the lease ended: the worker died
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].id, claimed[0].id);
  EXPECT_NE(again[0].claim, claimed[0].claim);

  // The first claimer, back from the dead, can no longer renew, retry or finish it.
  EXPECT_FALSE(write([&](ConversationTxn& txn) -> Result<bool> {
    NATTER_TRY(bool renewed, txn.RenewPushClaim(claimed[0], 9000));
    NATTER_RETURN_IF_ERROR(txn.RetryPushJob(claimed[0], 1));
    NATTER_RETURN_IF_ERROR(txn.FinishPushJob(claimed[0], 1));
    return renewed;
  }));
  EXPECT_TRUE(claim(3000, 5000).empty()) << "a stale claimer released the job";
  EXPECT_TRUE(write([&](ConversationTxn& txn) { return txn.RenewPushClaim(again[0], 5000); }));
  EXPECT_TRUE(claim(4500, 6000).empty()) << "a renewed lease was taken";

  // A message comes while it is sent: finishing keeps it, due later.
  write([&](ConversationTxn& txn) -> Result<bool> {
    NATTER_RETURN_IF_ERROR(txn.QueuePush(job(3, 2500)));
    NATTER_RETURN_IF_ERROR(txn.FinishPushJob(again[0], 6000));
    return true;
  });
  EXPECT_TRUE(claim(5999, 8000).empty());
  auto rest = claim(6000, 8000);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(std::make_pair(rest[0].first_seq, rest[0].last_seq), std::make_pair(Seq{3}, Seq{3}));
  auto clears = claim(7000, 9000);
  ASSERT_EQ(clears.size(), 1u);
  EXPECT_EQ(clears[0].user_id, 9);

  // A retry counts an attempt and waits; a new message brings it back sooner,
  // its attempts counted afresh; finishing deletes.
  write([&](ConversationTxn& txn) -> Result<bool> {
    NATTER_RETURN_IF_ERROR(txn.RetryPushJob(rest[0], 9500));
    NATTER_RETURN_IF_ERROR(txn.FinishPushJob(clears[0], 0));
    NATTER_RETURN_IF_ERROR(txn.QueuePush(job(4, 8500)));
    return true;
  });
  auto retried = claim(8500, 10000);
  ASSERT_EQ(retried.size(), 1u);
  EXPECT_EQ(retried[0].attempts, 0);
  EXPECT_EQ(retried[0].last_seq, 4);
  write([&](ConversationTxn& txn) -> Result<bool> {
    NATTER_RETURN_IF_ERROR(txn.RetryPushJob(retried[0], 9500));
    NATTER_RETURN_IF_ERROR(txn.QueuePush(job(5, 9600)));  // later than the retry: changes nothing of it
    return true;
  });
  retried = claim(9500, 10000);
  ASSERT_EQ(retried.size(), 1u);
  EXPECT_EQ(retried[0].attempts, 1);
  EXPECT_EQ(retried[0].last_seq, 5);
  auto stats = ReadSync<PushQueueStats>(*store, last, [](ConversationTxn& txn) { return txn.GetPushQueueStats(); });
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->depth, 1);
  write([&](ConversationTxn& txn) -> Result<bool> {
    NATTER_RETURN_IF_ERROR(txn.FinishPushJob(retried[0], 0));
    return true;
  });
  stats = ReadSync<PushQueueStats>(*store, last, [](ConversationTxn& txn) { return txn.GetPushQueueStats(); });
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->depth, 0);
}

TEST_P(PushStore, RecipientsCarryTheirReadMarkMuteAndLastAlert) {
  UserId a = AddUser("a"), b = AddUser("b"), c = AddUser("c");
  int last = store->Partitions() - 1;
  ConversationId conv = AddGroup(a, {b, c}, last);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Send(*store, conv, a, "m" + std::to_string(i)).ok());
  auto r = WriteSync<bool>(*store, last, [=](ConversationTxn& txn) -> Result<bool> {
    NATTER_RETURN_IF_ERROR(txn.UpdateReadSeq(conv, c, 3));
    NATTER_RETURN_IF_ERROR(txn.SetMute(conv, b, kMutedForever));
    NATTER_RETURN_IF_ERROR(txn.MarkPushShown(conv, b, 2));
    NATTER_RETURN_IF_ERROR(txn.MarkPushShown(conv, b, 1));  // never moves back
    return true;
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto recipients = ReadSync<std::vector<PushRecipient>>(
      *store, last, [=](ConversationTxn& txn) { return txn.ListPushRecipients(conv, 3); });
  ASSERT_TRUE(recipients.ok()) << recipients.error().message;
  // a sent them (read), c read them: only b.
  ASSERT_EQ(recipients->size(), 1u);
  EXPECT_EQ((*recipients)[0].user_id, b);
  EXPECT_EQ((*recipients)[0].muted_until, kMutedForever);
  EXPECT_EQ((*recipients)[0].shown_seq, 2);
  auto unread = ReadSync<std::vector<int64_t>>(*store, last, [=](ConversationTxn& txn) -> Result<std::vector<int64_t>> {
    NATTER_TRY(int64_t ua, txn.CountUnread(a));
    NATTER_TRY(int64_t ub, txn.CountUnread(b));
    NATTER_TRY(int64_t uc, txn.CountUnread(c));
    return std::vector<int64_t>{ua, ub, uc};
  });
  ASSERT_TRUE(unread.ok());
  EXPECT_EQ(*unread, (std::vector<int64_t>{0, 3, 0}));
  // b's clear job after reading up to `read_seq`, as {first, last, due}.
  auto clear_after = [&](Seq read_seq, int64_t due_at) -> std::vector<int64_t> {
    auto st = WriteSync<Ok>(
        *store, last, [=](ConversationTxn& txn) -> Status { return txn.ClearPushShown(conv, b, read_seq, due_at); });
    EXPECT_TRUE(st.ok()) << st.error().message;
    auto jobs = WriteSync<std::vector<PushJob>>(*store, last, [](ConversationTxn& txn) {
      return txn.ClaimPushJobs(/*now=*/1000, /*lease_until=*/0, 100, /*claim=*/0);  // a lease already over
    });
    EXPECT_TRUE(jobs.ok());
    for (const PushJob& j : *jobs) {
      if (j.user_id == b) return {j.first_seq, j.last_seq, j.due_at};
    }
    return {};
  };
  EXPECT_EQ(clear_after(1, 100), (std::vector<int64_t>{}));           // below the alert at 2: kept
  EXPECT_EQ(clear_after(2, 200), (std::vector<int64_t>{2, 2, 200}));  // taken: b's devices clear it
  EXPECT_EQ(clear_after(3, 300), (std::vector<int64_t>{2, 2, 200}));  // taken already: nothing more
}

INSTANTIATE_TEST_SUITE_P(Sqlite, PushStore, ::testing::Values("sqlite"));
INSTANTIATE_TEST_SUITE_P(Postgres, PushStore, ::testing::ValuesIn(PostgresParams()));
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(PushStore);

}  // namespace
}  // namespace natter::testing
