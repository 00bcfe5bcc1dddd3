// Replies in a batch: the PostgreSQL writer reads the messages a batch's
// replies name along with its locks (pg_lock_ahead.cc), so what the batch
// itself changes must show in those answers. Run on SQLite too, where every
// read goes to the database.
#include "store/store_contract.h"

namespace natter::testing {
namespace {

using ReplyStore = StoreContractTest;

// A reply queued without waiting, its key naming the message it replies to.
std::future<Result<chat::SendResult>> QueueReply(Store& s, const chat::ChatLimits& limits, ConversationId conv,
                                                 UserId from, const std::string& client_id, Seq reply_to) {
  chat::SendRequest req{conv, client_id, "re", reply_to};
  return Queued([&](auto done) {
    s.WriteResult<chat::SendResult>(
        s.ForSend(conv, from, client_id, reply_to), InlineExecutor(),
        [req, from, limits](ConversationTxn& txn) {
          return chat::SendMessage(txn, chat::Context{from, 0}, limits, req);
        },
        [done](Result<chat::SendResult> r, CommitTurn) { done(std::move(r)); });
  });
}

TEST_P(ReplyStore, RepliesInOneBatchSeeWhatTheBatchSentAndChanged) {
  UserId a = AddUser("a"), b = AddUser("b");
  ConversationId conv = AddGroup(a, {b}, store->Partitions() - 1);
  auto zero = Send(*store, conv, a, "zero");
  ASSERT_TRUE(zero.ok()) << zero.error().message;
  Seq z = zero->message.seq;

  HeldWriter writer(*store, store->For(conv));
  auto to_zero = QueueReply(*store, limits, conv, b, "r0", z);
  auto one = Queued([&](auto done) { SendAsync(*store, conv, a, "one", done); });
  auto to_one = QueueReply(*store, limits, conv, b, "r1", z + 1);  // r0, sent in this batch
  auto to_none = QueueReply(*store, limits, conv, b, "r9", z + 9);
  std::string seen;  // by the edit, right after it (written on the writer thread, read after the batch)
  auto edited = QueueOp(*store, conv, [&](ConversationTxn& txn) -> Status {
    NATTER_RETURN_IF_ERROR(txn.UpdateMessageText(conv, z, "zero, edited", 5000));
    NATTER_TRY(auto found, txn.FindMessage(conv, z));
    seen = found ? found->text : "(none)";
    return OkStatus();
  });
  auto to_edited = QueueReply(*store, limits, conv, a, "r0e", z);
  ASSERT_TRUE(writer.Release());

  auto r0 = to_zero.get(), r1 = to_one.get(), r9 = to_none.get(), r0e = to_edited.get();
  auto one_sent = one.get();
  ASSERT_TRUE(one_sent.ok()) << one_sent.error().message;
  ASSERT_TRUE(r0.ok()) << r0.error().message;
  EXPECT_EQ(r0->message.reply_to, z);
  ASSERT_TRUE(r1.ok()) << r1.error().message;
  EXPECT_EQ(r1->message.reply_to, z + 1);
  ASSERT_FALSE(r9.ok());
  EXPECT_EQ(r9.error().code, ErrorCode::kNotFound);
  Status edit = edited.get();
  EXPECT_TRUE(edit.ok()) << edit.error().message;
  EXPECT_EQ(seen, "zero, edited");
  ASSERT_TRUE(r0e.ok()) << r0e.error().message;

  // Another batch: a reply reads "one" ahead, and an erasure of it shows.
  Seq one_seq = one_sent->message.seq;
  HeldWriter again(*store, store->For(conv));
  auto to_two = QueueReply(*store, limits, conv, b, "r2", one_seq);
  bool seen_erased = false;
  auto erased = QueueOp(*store, conv, [&](ConversationTxn& txn) -> Status {
    NATTER_RETURN_IF_ERROR(txn.EraseMessage(conv, one_seq));
    NATTER_TRY(auto found, txn.FindMessage(conv, one_seq));
    seen_erased = found && found->deleted;
    return OkStatus();
  });
  ASSERT_TRUE(again.Release());
  ASSERT_TRUE(to_two.get().ok());
  EXPECT_TRUE(erased.get().ok());
  EXPECT_TRUE(seen_erased);
}

INSTANTIATE_TEST_SUITE_P(Sqlite, ReplyStore, ::testing::Values("sqlite"));
INSTANTIATE_TEST_SUITE_P(Postgres, ReplyStore, ::testing::ValuesIn(PostgresParams()));
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ReplyStore);

}  // namespace
}  // namespace natter::testing
