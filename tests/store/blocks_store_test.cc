// The blocks part of the Store contract: a block is one row however often it
// is made, listed newest first with the blocked user's handle, read from any
// partition's transaction, and gone with an unblock. Run on SQLite and
// PostgreSQL alike.
#include <algorithm>
#include <tuple>

#include "store/store_contract.h"

namespace natter::testing {
namespace {

using BlocksStore = StoreContractTest;

TEST_P(BlocksStore, BlocksAreKeptListedAndSeenFromEveryPartition) {
  UserId a = AddUser("alice"), b = AddUser("bob"), c = AddUser("carol");
  auto made = WriteAccountsSync<bool>(*store, [=](AccountsTxn& txn) -> Result<bool> {
    NATTER_RETURN_IF_ERROR(txn.SetBlocked(a, b, true, 1'760'000'000'000));
    NATTER_RETURN_IF_ERROR(txn.SetBlocked(a, b, true, 1'760'000'009'999));  // again: the first time stays
    NATTER_RETURN_IF_ERROR(txn.SetBlocked(a, c, true, 1'760'000'001'000));
    NATTER_RETURN_IF_ERROR(txn.SetBlocked(c, b, true, 1'760'000'002'000));
    return true;
  });
  ASSERT_TRUE(made.ok()) << made.error().message;
  auto listed =
      ReadAccountsSync<std::vector<BlockedUser>>(*store, [=](AccountsTxn& txn) { return txn.ListBlocked(a); });
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ(((*listed)[0].user_id), c);  // newest first
  EXPECT_EQ(((*listed)[0].handle), "carol");
  EXPECT_EQ(((*listed)[1].user_id), b);
  EXPECT_EQ(((*listed)[1].blocked_at), 1'760'000'000'000);
  // Every partition's transaction reads the same blocks.
  using Seen = std::tuple<BlockState, std::vector<UserId>, std::vector<UserId>>;
  for (int p = 0; p < store->Partitions(); ++p) {
    auto seen = ReadSync<Seen>(*store, p, [=](ConversationTxn& txn) -> Result<Seen> {
      NATTER_TRY(auto between, txn.accounts().BlocksBetween(b, a));
      NATTER_TRY(auto among, txn.accounts().BlockersAmong(b, {a, c, 12345}));
      NATTER_TRY(auto either, txn.accounts().BlockedEitherWay(a));
      std::sort(among.begin(), among.end());
      std::sort(either.begin(), either.end());
      return Seen{between, among, either};
    });
    ASSERT_TRUE(seen.ok()) << seen.error().message;
    const auto& [between, among, either] = *seen;
    EXPECT_FALSE(between.a_blocked_b);  // b did not block a
    EXPECT_TRUE(between.b_blocked_a);   // a blocked b
    EXPECT_EQ(among, (std::vector<UserId>{std::min(a, c), std::max(a, c)}));
    EXPECT_EQ(either, (std::vector<UserId>{std::min(b, c), std::max(b, c)}));
  }
  ASSERT_TRUE(WriteAccountsSync<bool>(*store, [=](AccountsTxn& txn) -> Result<bool> {
                NATTER_RETURN_IF_ERROR(txn.SetBlocked(a, b, false, 0));
                NATTER_RETURN_IF_ERROR(txn.SetBlocked(a, b, false, 0));  // again: nothing to undo
                return true;
              }).ok());
  auto after = ReadAccountsSync<BlockState>(*store, [=](AccountsTxn& txn) { return txn.BlocksBetween(a, b); });
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after->a_blocked_b);
}

INSTANTIATE_TEST_SUITE_P(Sqlite, BlocksStore, ::testing::Values("sqlite"));
INSTANTIATE_TEST_SUITE_P(Postgres, BlocksStore, ::testing::ValuesIn(PostgresParams()));
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(BlocksStore);

TEST_P(BlocksStore, ADirectSendReadsTheBlocksAsItsBatchBegins) {
  // The PostgreSQL writer reads a batch's blocks ahead (on the first instance
  // with its locks, elsewhere from the accounts instance): on every
  // partition, a block or an erased peer stops a direct send, and an unblock
  // lets it through.
  UserId a = AddUser("alice");
  for (int p = 0; p < store->Partitions(); ++p) {
    UserId b = AddUser("bob" + std::to_string(p)), c = AddUser("carol" + std::to_string(p));
    auto direct = [&](UserId peer) {
      ConversationId id = NewConversationId(p);
      auto made = WriteSync<ConversationId>(*store, p, [=, this](ConversationTxn& txn) -> Result<ConversationId> {
        NATTER_TRY(auto view, chat::CreateDirect(txn, chat::Context{a, 1000}, id, limits, peer, false));
        return view.conversation.id;
      });
      EXPECT_TRUE(made.ok()) << made.error().message;
      return made.ok() ? *made : 0;
    };
    ConversationId with_b = direct(b), with_c = direct(c);
    ASSERT_TRUE(Send(*store, with_b, a, "before").ok());
    auto set = [&](UserId by, UserId whom, bool blocked) {
      ASSERT_TRUE(WriteAccountsSync<bool>(*store, [=](AccountsTxn& txn) -> Result<bool> {
                    NATTER_RETURN_IF_ERROR(txn.SetBlocked(by, whom, blocked, 1));
                    return true;
                  }).ok());
    };
    set(b, a, true);
    auto refused = Send(*store, with_b, a, "blocked");
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, ErrorCode::kForbidden);
    EXPECT_TRUE(Send(*store, with_c, a, "other").ok());  // a block between others changes nothing
    set(b, a, false);
    EXPECT_TRUE(Send(*store, with_b, a, "after").ok());
    ASSERT_TRUE(WriteAccountsSync<bool>(*store, [=](AccountsTxn& txn) -> Result<bool> {
                  NATTER_TRY(auto gone, txn.EraseAccount(c, 5, 6));
                  return true;
                }).ok());
    auto to_erased = Send(*store, with_c, a, "to nobody");
    ASSERT_FALSE(to_erased.ok());
    EXPECT_EQ(to_erased.error().code, ErrorCode::kForbidden);
  }
}

}  // namespace
}  // namespace natter::testing
