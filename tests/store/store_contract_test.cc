// The Store contract: every implementation (embedded SQLite, PostgreSQL with
// two instances) must pass the same tests. Writes from many threads commit in
// groups, each op isolated by its savepoint, `done` only after the commit;
// sequence numbers stay dense; the transaction operations mean the same thing.
//
// The PostgreSQL instances come from NATTER_TEST_POSTGRES (libpq URLs, comma
// separated), which scripts/with-postgres.sh sets; ctest runs this suite that
// way (tests/CMakeLists.txt), and fails it when no instance is there.
#include "store/store_contract.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <set>
#include <thread>

namespace natter::testing {
namespace {

using StoreContract = StoreContractTest;

TEST_P(StoreContract, ConcurrentSendsGetDenseUniqueSequenceNumbers) {
  UserId a = AddUser("a"), b = AddUser("b");
  ConversationId conv = AddGroup(a, {b}, store->Partitions() - 1);
  constexpr int kThreads = 8, kPerThread = 150;
  std::mutex mu;
  std::set<Seq> seqs;
  std::atomic<int> failures{0}, done{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        SendAsync(*store, conv, t % 2 ? a : b, std::to_string(t) + "-" + std::to_string(i),
                  [&](Result<chat::SendResult> r) {
                    if (r.ok()) {
                      std::lock_guard lock(mu);
                      seqs.insert(r->message.seq);
                    } else {
                      ++failures;
                    }
                    ++done;
                  });
      }
    });
  }
  for (auto& t : threads) t.join();
  WaitForCount(done, kThreads * kPerThread);
  ASSERT_EQ(done.load(), kThreads * kPerThread);
  EXPECT_EQ(failures.load(), 0);
  ASSERT_EQ(seqs.size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_EQ(*seqs.begin(), 1);  // the group's creation made no timeline entry
  EXPECT_EQ(*seqs.rbegin(), kThreads * kPerThread);
}

TEST_P(StoreContract, AFailingOpDoesNotUndoItsBatch) {
  // Hold the writer inside a first operation while the three are queued, so
  // they commit as one batch.
  HeldWriter writer(*store);
  std::vector<std::future<Status>> results;
  for (int i = 0; i < 3; ++i) {
    auto p = std::make_shared<std::promise<Status>>();
    results.push_back(p->get_future());
    UserId id = ids.Next();
    store->WriteAccounts(
        InlineExecutor(),
        [id, i](AccountsTxn& txn) -> Status {
          NATTER_RETURN_IF_ERROR(txn.InsertUser(User{id, "user" + std::to_string(i), "h", 0}));
          if (i == 1) return Conflict("made to fail after writing");
          return OkStatus();
        },
        [p](Status st) { p->set_value(std::move(st)); });
  }
  EXPECT_TRUE(writer.Release());
  EXPECT_TRUE(results[0].get().ok());
  Status failed = results[1].get();
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::kConflict);
  EXPECT_TRUE(results[2].get().ok());
  for (int i = 0; i < 3; ++i) {
    auto found = ReadAccountsSync<bool>(*store, [i](AccountsTxn& txn) -> Result<bool> {
      NATTER_TRY(auto u, txn.FindUserByHandle("user" + std::to_string(i)));
      return u.has_value();
    });
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(*found, i != 1) << i;  // the failing op's savepoint was rolled back
  }
}

int64_t PtsOf(const chat::SendResult& sent, UserId user) {
  for (const auto& r : sent.recipients) {
    if (r.user == user) return r.pts;
  }
  return -1;
}

TEST_P(StoreContract, OperationsInOneBatchSeeEachOthersWrites) {
  // What one operation of a batch changed, the next one reads: the
  // PostgreSQL writer reads much of it ahead, once per batch.
  UserId a = AddUser("a"), b = AddUser("b"), c = AddUser("c");
  ConversationId conv = AddGroup(a, {b, c}, store->Partitions() - 1);
  HeldWriter writer(*store, store->For(conv));
  auto first = Queued([&](auto done) { SendAsync(*store, conv, a, "one", done); });
  auto again = Queued([&](auto done) { SendAsync(*store, conv, a, "one", done); });
  auto next = Queued([&](auto done) { SendAsync(*store, conv, b, "one-b", done); });
  auto left_status = QueueOp(*store, conv, [&](ConversationTxn& txn) -> Status {
    NATTER_TRY(auto view, chat::RemoveMember(txn, chat::Context{c, 2000}, limits, conv, c));
    return OkStatus();
  });
  auto after = Queued([&](auto done) { SendAsync(*store, conv, a, "two", done); });
  auto reply = Queued([&](auto done) { SendAsync(*store, conv, b, "three", done); });
  ASSERT_TRUE(writer.Release());

  auto one = first.get(), dup = again.get(), one_b = next.get(), two = after.get(), three = reply.get();
  ASSERT_TRUE(one.ok() && dup.ok() && one_b.ok() && two.ok() && three.ok());
  ASSERT_TRUE(left_status.get().ok());
  EXPECT_FALSE(one->duplicate);
  EXPECT_TRUE(dup->duplicate);  // the first send of the batch is found
  EXPECT_EQ(dup->message.seq, one->message.seq);
  EXPECT_EQ(one_b->message.seq, one->message.seq + 1);
  for (UserId u : {a, b, c}) EXPECT_EQ(PtsOf(*one_b, u), PtsOf(*one, u) + 1) << u;
  EXPECT_GT(two->message.seq, one_b->message.seq + 1);  // c's leaving came between
  EXPECT_EQ(three->message.seq, two->message.seq + 1);
  EXPECT_GE(PtsOf(*one, c), 1);
  EXPECT_EQ(PtsOf(*two, c), -1);  // gone before the second send
  EXPECT_GT(PtsOf(*two, b), PtsOf(*one, b));
  EXPECT_EQ(PtsOf(*three, b), PtsOf(*two, b) + 1);
  auto state = ReadSync<UpdateLogState>(*store, store->Partitions() - 1,
                                        [=](ConversationTxn& txn) { return txn.GetUpdateLogState(b); });
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->pts, PtsOf(*three, b));
}

TEST_P(StoreContract, AnOperationRefusedAfterWritingGivesBackItsSeqAndPts) {
  // Refused after it wrote (here: took the next seq and a's next pts): its
  // changes are undone, and the next send of the batch takes that seq and pts.
  UserId a = AddUser("a"), b = AddUser("b");
  ConversationId conv = AddGroup(a, {b}, store->Partitions() - 1);
  auto zero = Send(*store, conv, a, "zero");
  ASSERT_TRUE(zero.ok());
  HeldWriter writer(*store, store->For(conv));
  auto refusal = QueueOp(*store, conv, [&](ConversationTxn& txn) -> Status {
    NATTER_TRY(auto seq, txn.NextSeq(conv, 3000));
    NATTER_TRY(auto pts, txn.AppendUserUpdate(a, conv, seq));
    return Forbidden("refused after taking seq " + std::to_string(seq) + " and pts " + std::to_string(pts));
  });
  auto after = Queued([&](auto done) { SendAsync(*store, conv, b, "one", done); });
  ASSERT_TRUE(writer.Release());
  Status st = refusal.get();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kForbidden);
  auto sent = after.get();
  ASSERT_TRUE(sent.ok()) << sent.error().message;
  EXPECT_EQ(sent->message.seq, 2);
  EXPECT_EQ(PtsOf(*sent, a), PtsOf(*zero, a) + 1);
}

TEST_P(StoreContract, AnOperationRefusedAfterOnlyReadingRunsOnce) {
  // Nothing to undo: the batch goes on (PostgreSQL's pipelined batch runs
  // operations without savepoints and would otherwise run it all again).
  UserId a = AddUser("a"), b = AddUser("b");
  ConversationId conv = AddGroup(a, {b}, store->Partitions() - 1);
  ASSERT_TRUE(Send(*store, conv, a, "zero").ok());
  HeldWriter writer(*store, store->For(conv));
  auto first = Queued([&](auto done) { SendAsync(*store, conv, a, "one", done); });
  std::atomic<int> runs{0};
  auto refusal = QueueOp(*store, conv, [&](ConversationTxn& txn) -> Status {
    ++runs;
    NATTER_TRY(auto message, txn.FindMessage(conv, 1));
    return Forbidden(message ? "refused after reading" : "the message was not found");
  });
  auto second = Queued([&](auto done) { SendAsync(*store, conv, b, "two", done); });
  ASSERT_TRUE(writer.Release());
  Status st = refusal.get();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "refused after reading");
  auto one = first.get(), two = second.get();
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_EQ(one->message.seq, 2);
  EXPECT_EQ(two->message.seq, 3);
  EXPECT_EQ(runs.load(), 1);
}

TEST_P(StoreContract, AnOperationWhoseWriteTouchedNoRowRunsOnce) {
  // As a taken handle or an unknown invite code: a write that matched
  // nothing leaves its refusal nothing to undo.
  UserId a = AddUser("a"), b = AddUser("b");
  ConversationId conv = AddGroup(a, {b}, store->Partitions() - 1);
  HeldWriter writer(*store, store->For(conv));
  auto first = Queued([&](auto done) { SendAsync(*store, conv, a, "one", done); });
  std::atomic<int> runs{0};
  auto refusal = QueueOp(*store, conv, [&](ConversationTxn& txn) -> Status {
    ++runs;
    NATTER_RETURN_IF_ERROR(txn.UpdateTitle(NewConversationId(store->Partitions() - 1), "nobody's"));
    return Conflict("no such conversation");
  });
  auto second = Queued([&](auto done) { SendAsync(*store, conv, b, "two", done); });
  ASSERT_TRUE(writer.Release());
  Status st = refusal.get();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "no such conversation");
  auto one = first.get(), two = second.get();
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_EQ(two->message.seq, 2);
  EXPECT_EQ(runs.load(), 1);
}

TEST_P(StoreContract, AStatementThatFailsInABatchFailsOnlyItsOperation) {
  // A write the database refuses (a seq already taken) fails its own
  // operation; the others of its batch commit once. (PostgreSQL learns of
  // it only at the commit of a pipelined batch, and runs the batch again.)
  UserId a = AddUser("a"), b = AddUser("b");
  ConversationId conv = AddGroup(a, {b}, store->Partitions() - 1);
  HeldWriter writer(*store, store->For(conv));
  auto first = Queued([&](auto done) { SendAsync(*store, conv, a, "one", done); });
  auto failed = QueueOp(*store, conv, [&](ConversationTxn& txn) -> Status {
    Message taken;
    taken.conversation_id = conv;
    taken.seq = 1;  // the first send's
    taken.sender_id = b;
    taken.kind = EventKind::kMessage;
    taken.text = "clash";
    return txn.InsertMessage(taken);
  });
  auto second = Queued([&](auto done) { SendAsync(*store, conv, b, "two", done); });
  ASSERT_TRUE(writer.Release());

  auto one = first.get(), two = second.get();
  ASSERT_TRUE(one.ok()) << one.error().message;
  ASSERT_TRUE(two.ok()) << two.error().message;
  Status clash = failed.get();
  ASSERT_FALSE(clash.ok());
  EXPECT_NE(clash.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(one->message.seq, 1);
  EXPECT_EQ(two->message.seq, 2);
  auto history = ReadSync<std::vector<Message>>(*store, store->Partitions() - 1, [=](ConversationTxn& txn) {
    return txn.History(HistoryQuery{conv, std::nullopt, Seq{0}, 10});
  });
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].text, "hi");
  EXPECT_EQ((*history)[1].sender_id, b);
}

TEST_P(StoreContract, ARefusalBeforeWritingNeitherUndoesNorRepeatsItsBatch) {
  // An operation refused before it wrote leaves its batch alone and runs
  // once: nothing of the batch runs again for it.
  HeldWriter writer(*store);
  auto runs = std::make_shared<std::array<std::atomic<int>, 3>>();
  std::vector<std::future<Status>> results;
  for (int i = 0; i < 3; ++i) {
    auto p = std::make_shared<std::promise<Status>>();
    results.push_back(p->get_future());
    UserId id = ids.Next();
    store->WriteAccounts(
        InlineExecutor(),
        [id, i, runs](AccountsTxn& txn) -> Status {
          ++(*runs)[i];
          if (i == 1) return Forbidden("refused before writing");
          return txn.InsertUser(User{id, "kept" + std::to_string(i), "h", 0});
        },
        [p](Status st) { p->set_value(std::move(st)); });
  }
  EXPECT_TRUE(writer.Release());
  EXPECT_TRUE(results[0].get().ok());
  Status refused = results[1].get();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kForbidden);
  EXPECT_TRUE(results[2].get().ok());
  for (int i = 0; i < 3; ++i) EXPECT_EQ((*runs)[i].load(), 1) << i;
  for (int i : {0, 2}) {
    auto found = ReadAccountsSync<bool>(*store, [i](AccountsTxn& txn) -> Result<bool> {
      NATTER_TRY(auto u, txn.FindUserByHandle("kept" + std::to_string(i)));
      return u.has_value();
    });
    ASSERT_TRUE(found.ok());
    EXPECT_TRUE(*found) << i;
  }
}

TEST_P(StoreContract, EveryChangeOfMembersCountsInTheirVersion) {
  UserId a = AddUser("a"), b = AddUser("b"), c = AddUser("c");
  ConversationId conv = AddGroup(a, {b});
  int p = store->PartitionOf(conv);
  auto version = [&]() -> int64_t {
    auto listed = ReadSync<std::vector<MembersVersion>>(
        *store, p, [=](ConversationTxn& txn) { return txn.ListSmallConversations(b, 10); });
    EXPECT_TRUE(listed.ok() && listed->size() == 1);
    return listed.ok() && listed->size() == 1 ? (*listed)[0].version : -1;
  };
  auto change = [&](std::function<Status(ConversationTxn&)> fn) {
    auto r = WriteSync<bool>(*store, p, [fn](ConversationTxn& txn) -> Result<bool> {
      NATTER_RETURN_IF_ERROR(fn(txn));
      return true;
    });
    ASSERT_TRUE(r.ok()) << r.error().message;
  };
  int64_t made = version();
  change([=](ConversationTxn& txn) { return txn.InsertMember(Member{conv, c, Role::kMember, 3000, 0, 0}); });
  int64_t added = version();
  EXPECT_GT(added, made);
  // What does not change who is in it leaves the version alone.
  ASSERT_TRUE(Send(*store, conv, a, "m1").ok());
  change([=](ConversationTxn& txn) { return txn.UpdateRole(conv, c, Role::kAdmin); });
  EXPECT_EQ(version(), added);
  change([=](ConversationTxn& txn) { return txn.DeleteMember(conv, c); });
  EXPECT_GT(version(), added);
  ConversationId other = AddGroup(c, {a}, p);
  using Pairs = std::vector<std::pair<ConversationId, UserId>>;
  auto members = ReadSync<Pairs>(*store, p, [=](ConversationTxn& txn) { return txn.ListMemberIdsOf({other, conv}); });
  ASSERT_TRUE(members.ok());
  Pairs expected{{conv, std::min(a, b)}, {conv, std::max(a, b)}, {other, std::min(a, c)}, {other, std::max(a, c)}};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(*members, expected);
}

TEST_P(StoreContract, DataSurvivesReopening) {
  UserId a = AddUser("kept"), b = AddUser("other");
  ConversationId conv = AddGroup(a, {b}, store->Partitions() - 1);
  ASSERT_TRUE(Send(*store, conv, a, "m1").ok());
  store.reset();
  store = Open();
  auto user = ReadAccountsSync<bool>(*store, [](AccountsTxn& txn) -> Result<bool> {
    NATTER_TRY(auto u, txn.FindUserByHandle("KEPT"));  // handles compare case-insensitively
    return u.has_value();
  });
  ASSERT_TRUE(user.ok());
  EXPECT_TRUE(*user);
  auto message = ReadSync<std::optional<Message>>(*store, store->PartitionOf(conv),
                                                  [conv](ConversationTxn& txn) { return txn.FindMessage(conv, 1); });
  ASSERT_TRUE(message.ok() && message->has_value());
  EXPECT_EQ((*message)->text, "hello");
}

TEST_P(StoreContract, HandleTakenIsAConflict) {
  AddUser("dup");
  UserId id = ids.Next();
  auto r = WriteAccountsSync<bool>(*store, [=](AccountsTxn& txn) -> Result<bool> {
    NATTER_RETURN_IF_ERROR(txn.InsertUser(User{id, "DUP", "h", 0}));
    return true;
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kConflict);
}

TEST_P(StoreContract, RetriedSendIsIdempotent) {
  UserId a = AddUser("a"), b = AddUser("b");
  ConversationId conv = AddGroup(a, {b});
  auto first = Send(*store, conv, a, "same", "one");
  auto again = Send(*store, conv, a, "same", "one");
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_FALSE(first->duplicate);
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->message.seq, first->message.seq);
  // The same id for other text is a client bug, not a retry.
  auto reused = Send(*store, conv, a, "same", "two");
  ASSERT_FALSE(reused.ok());
  EXPECT_EQ(reused.error().code, ErrorCode::kConflict);
  // Another sender may use the same client id.
  auto other = Send(*store, conv, b, "same");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->duplicate);
}

TEST_P(StoreContract, TxnOperationsKeepTheirMeaning) {
  UserId a = AddUser("a"), b = AddUser("b"), c = AddUser("c");
  int last = store->Partitions() - 1;
  ConversationId conv = AddGroup(a, {b}, last);
  ASSERT_TRUE(Send(*store, conv, a, "m1", "first").ok());
  ASSERT_TRUE(Send(*store, conv, b, "m2", "second").ok());
  auto r = WriteSync<bool>(*store, last, [=](ConversationTxn& txn) -> Result<bool> {
    // Watermarks only move forward.
    NATTER_RETURN_IF_ERROR(txn.UpdateReadSeq(conv, b, 2));
    NATTER_RETURN_IF_ERROR(txn.UpdateReadSeq(conv, b, 1));
    NATTER_TRY(auto m, txn.FindMember(conv, b));
    if (!m || m->read_seq != 2) return Internal("read_seq went back");
    // Reactions report whether anything changed.
    NATTER_TRY(bool set, txn.SetReaction(conv, 1, b, "👍"));
    NATTER_TRY(bool same, txn.SetReaction(conv, 1, b, "👍"));
    NATTER_TRY(bool removed, txn.RemoveReaction(conv, 1, c));
    if (!set || same || removed) return Internal("reaction changes misreported");
    // Erasing a message erases its text.
    NATTER_RETURN_IF_ERROR(txn.EraseMessage(conv, 2));
    NATTER_TRY(auto erased, txn.FindMessage(conv, 2));
    if (!erased || !erased->deleted || !erased->text.empty()) return Internal("not erased");
    return true;
  });
  ASSERT_TRUE(r.ok()) << r.error().message;

  auto history =
      ReadSync<std::vector<Message>>(*store, last, [=](ConversationTxn& txn) -> Result<std::vector<Message>> {
        HistoryQuery q;
        q.conversation_id = conv;
        q.before = 3;
        NATTER_TRY(auto page, txn.History(q));
        NATTER_RETURN_IF_ERROR(txn.LoadReactions(page));
        return page;
      });
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].seq, 2);  // newest first
  EXPECT_EQ((*history)[1].text, "first");
  ASSERT_EQ((*history)[1].reactions.size(), 1u);
  EXPECT_EQ((*history)[1].reactions[0].emoji, "👍");

  // A's list: unread counts others' live messages after the read mark; the
  // preview is the newest message.
  auto list = ReadSync<std::vector<ConversationSummary>>(
      *store, last, [=](ConversationTxn& txn) { return txn.ListConversations(a, 10, ListCursor{}); });
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].unread, 0);  // b's message was erased
  ASSERT_TRUE((*list)[0].last_message.has_value());
  EXPECT_EQ((*list)[0].last_message->seq, 2);

  auto of_c = ReadSync<std::vector<ConversationId>>(*store, last,
                                                    [=](ConversationTxn& txn) { return txn.ListConversationIds(c); });
  ASSERT_TRUE(of_c.ok());
  EXPECT_TRUE(of_c->empty());
  auto of_b = ReadSync<std::vector<ConversationId>>(*store, last,
                                                    [=](ConversationTxn& txn) { return txn.ListConversationIds(b); });
  ASSERT_TRUE(of_b.ok());
  EXPECT_EQ(*of_b, std::vector<ConversationId>{conv});
  auto small = ReadSync<std::vector<MembersVersion>>(
      *store, last, [=](ConversationTxn& txn) { return txn.ListSmallConversations(a, 10); });
  ASSERT_TRUE(small.ok());
  ASSERT_EQ(small->size(), 1u);
  EXPECT_EQ((*small)[0].conversation_id, conv);
  auto shared = ReadSync<std::vector<UserId>>(*store, last, [=](ConversationTxn& txn) {
    return txn.WhoShareWith(a, {c, b, a});
  });
  ASSERT_TRUE(shared.ok());
  EXPECT_EQ(*shared, std::vector<UserId>{b});
}

TEST_P(StoreContract, ARefreshTokenIsMarkedUsedOnce) {
  UserId a = AddUser("a");
  auto r = WriteAccountsSync<std::vector<bool>>(*store, [=](AccountsTxn& txn) -> Result<std::vector<bool>> {
    NATTER_RETURN_IF_ERROR(txn.InsertSession(Session{a + 1, a, "phone", false, 0}));
    NATTER_RETURN_IF_ERROR(txn.InsertRefreshToken(RefreshTokenRecord{"hash-1", a + 1, false}));
    NATTER_TRY(bool first, txn.MarkRefreshTokenUsed("hash-1"));
    NATTER_TRY(bool second, txn.MarkRefreshTokenUsed("hash-1"));
    return std::vector<bool>{first, second};
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, (std::vector<bool>{true, false}));
}

TEST_P(StoreContract, OnlineNodesAreBitsPerNode) {
  UserId a = AddUser("a"), b = AddUser("b");
  auto r = WriteAccountsSync<bool>(*store, [=](AccountsTxn& txn) -> Result<bool> {
    NATTER_RETURN_IF_ERROR(txn.SetOnlineAt(a, 1, true));
    NATTER_RETURN_IF_ERROR(txn.SetOnlineAt(a, 15, true));
    NATTER_RETURN_IF_ERROR(txn.SetOnlineAt(b, 15, true));
    NATTER_RETURN_IF_ERROR(txn.SetOnlineAt(a, 1, false));
    return true;
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto nodes = [&](UserId u) {
    auto user = ReadAccountsSync<std::optional<User>>(*store, [u](AccountsTxn& txn) { return txn.FindUser(u); });
    return user.ok() && user->has_value() ? (*user)->online_nodes : -1;
  };
  EXPECT_EQ(nodes(a), int64_t{1} << 15);
  ASSERT_TRUE(WriteAccountsSync<bool>(*store, [](AccountsTxn& txn) -> Result<bool> {
                NATTER_RETURN_IF_ERROR(txn.ClearOnlineAt(15));
                return true;
              }).ok());
  EXPECT_EQ(nodes(a), 0);
  EXPECT_EQ(nodes(b), 0);
}

TEST_P(StoreContract, UpdateLogIsDenseAndPrunes) {
  UserId a = AddUser("a");
  int last = store->Partitions() - 1;
  auto r = WriteSync<bool>(*store, last, [=](ConversationTxn& txn) -> Result<bool> {
    for (int i = 1; i <= 5; ++i) {
      NATTER_TRY(int64_t pts, txn.AppendUserUpdate(a, 77, i));
      if (pts != i) return Internal("pts " + std::to_string(pts) + " at append " + std::to_string(i));
    }
    NATTER_RETURN_IF_ERROR(txn.PruneUserUpdates(a, 3));
    return true;
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto state = ReadSync<UpdateLogState>(*store, last, [=](ConversationTxn& txn) { return txn.GetUpdateLogState(a); });
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->pts, 5);
  EXPECT_EQ(state->pts_floor, 3);
  auto since = ReadSync<std::vector<UserUpdate>>(*store, last,
                                                 [=](ConversationTxn& txn) { return txn.UserUpdatesSince(a, 0, 100); });
  ASSERT_TRUE(since.ok());
  ASSERT_EQ(since->size(), 2u);
  EXPECT_EQ((*since)[0].pts, 4);
}

TEST_P(StoreContract, UpdatesForSeveralUsersAreEachDense) {
  UserId a = AddUser("a"), b = AddUser("b"), c = AddUser("c");
  auto r = WriteSync<std::vector<int64_t>>(*store, 0, [=](ConversationTxn& txn) -> Result<std::vector<int64_t>> {
    NATTER_TRY(int64_t ignored, txn.AppendUserUpdate(b, 5, 1));
    (void)ignored;
    NATTER_TRY(auto first, txn.AppendUserUpdates({c, a, b}, 5, 2));
    NATTER_TRY(auto second, txn.AppendUserUpdates({a, b}, 5, 3));
    first.insert(first.end(), second.begin(), second.end());
    return first;
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, (std::vector<int64_t>{1, 1, 2, 2, 3}));  // in the order asked, each user's own count
  auto since = ReadSync<std::vector<UserUpdate>>(*store, 0,
                                                 [=](ConversationTxn& txn) { return txn.UserUpdatesSince(b, 0, 10); });
  ASSERT_TRUE(since.ok());
  ASSERT_EQ(since->size(), 3u);
  EXPECT_EQ((*since)[2].seq, 3);
}

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreContract, ::testing::Values("sqlite"));
INSTANTIATE_TEST_SUITE_P(Postgres, StoreContract, ::testing::ValuesIn(PostgresParams()));
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(StoreContract);

}  // namespace
}  // namespace natter::testing
