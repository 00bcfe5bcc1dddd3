// The blocks part of the Store contract: a block is one row however often it
// is made, listed newest first with the blocked user's handle, read from any
// partition's transaction, and gone with an unblock. Run on SQLite and
// PostgreSQL alike.
#include <algorithm>

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
  for (int p = 0; p < store->Partitions(); ++p) {
    auto seen = ReadSync<std::pair<bool, std::vector<UserId>>>(
        *store, p, [=](ConversationTxn& txn) -> Result<std::pair<bool, std::vector<UserId>>> {
          NATTER_TRY(bool blocked, txn.accounts().IsBlocked(a, b));
          NATTER_TRY(bool reverse, txn.accounts().IsBlocked(b, a));
          NATTER_TRY(auto blockers, txn.accounts().BlockersOf(b));
          if (reverse) return Internal("a block goes one way");
          std::sort(blockers.begin(), blockers.end());
          return std::pair{blocked, blockers};
        });
    ASSERT_TRUE(seen.ok()) << seen.error().message;
    EXPECT_TRUE(seen->first);
    EXPECT_EQ(seen->second, (std::vector<UserId>{std::min(a, c), std::max(a, c)}));
  }
  ASSERT_TRUE(WriteAccountsSync<bool>(*store, [=](AccountsTxn& txn) -> Result<bool> {
                NATTER_RETURN_IF_ERROR(txn.SetBlocked(a, b, false, 0));
                NATTER_RETURN_IF_ERROR(txn.SetBlocked(a, b, false, 0));  // again: nothing to undo
                return true;
              }).ok());
  auto after = ReadAccountsSync<bool>(*store, [=](AccountsTxn& txn) { return txn.IsBlocked(a, b); });
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(*after);
}

INSTANTIATE_TEST_SUITE_P(Sqlite, BlocksStore, ::testing::Values("sqlite"));
INSTANTIATE_TEST_SUITE_P(Postgres, BlocksStore, ::testing::ValuesIn(PostgresParams()));
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(BlocksStore);

}  // namespace
}  // namespace natter::testing
