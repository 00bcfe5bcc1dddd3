// The profile part of the Store contract: a user's display name and picture
// are kept and read back with the user, and a replaced picture's upload is
// released from the accounts' partition. Run on SQLite and PostgreSQL alike.
#include "store/store_contract.h"

namespace natter::testing {
namespace {

using ProfileStore = StoreContractTest;

TEST_P(ProfileStore, ANameAndAPictureAreKeptWithTheUser) {
  UserId a = AddUser("alice");
  auto set = WriteAccountsSync<bool>(*store, [=](AccountsTxn& txn) -> Result<bool> {
    NATTER_TRY(bool set, txn.SetProfile(a, "Alice Ä.", R"({"id":77,"kind":"image"})", 77, 0));
    // Another change whose picture was not the stored one changes nothing.
    NATTER_TRY(bool stale, txn.SetProfile(a, "Mallory", "", 0, 55));
    NATTER_RETURN_IF_ERROR(txn.ReleaseUploadAt(66, 1'760'000'000'000));
    NATTER_RETURN_IF_ERROR(txn.ReleaseUploadAt(88, 1'760'000'000'000));
    NATTER_RETURN_IF_ERROR(txn.CancelUploadRelease(88));
    return set && !stale;
  });
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_TRUE(*set);
  auto found =
      ReadAccountsSync<std::optional<User>>(*store, [=](AccountsTxn& txn) { return txn.FindUserByHandle("ALICE"); });
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->display_name, "Alice Ä.");
  EXPECT_EQ((*found)->avatar, R"({"id":77,"kind":"image"})");
  EXPECT_EQ((*found)->avatar_upload, 77);
  // The release waits in the first partition, where the sweep looks for it.
  auto due = ReadSync<std::vector<int64_t>>(
      *store, 0, [](ConversationTxn& txn) { return txn.ListDueMediaReleases(1'760'000'000'001, 10); });
  ASSERT_TRUE(due.ok()) << due.error().message;
  EXPECT_EQ(*due, (std::vector<int64_t>{66}));
}

INSTANTIATE_TEST_SUITE_P(Sqlite, ProfileStore, ::testing::Values("sqlite"));
INSTANTIATE_TEST_SUITE_P(Postgres, ProfileStore, ::testing::ValuesIn(PostgresParams()));
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ProfileStore);

}  // namespace
}  // namespace natter::testing
