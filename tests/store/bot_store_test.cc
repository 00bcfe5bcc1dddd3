// The bot part of the Store contract (docs/admin.md, "Bots"): a token makes
// its user a bot, is found by its hash, and a new one replaces it; erasing the
// bot forgets its token. Run on SQLite and PostgreSQL alike.
#include <tuple>

#include "store/store_contract.h"

namespace natter::testing {
namespace {

using BotStore = StoreContractTest;

TEST_P(BotStore, ATokenIsFoundByItsHashAndANewOneReplacesIt) {
  UserId bot = AddUser("helpdesk"), person = AddUser("alice");
  auto put = [&](BotToken t) {
    auto r = WriteAccountsSync<bool>(*store, [t](AccountsTxn& txn) -> Result<bool> {
      NATTER_RETURN_IF_ERROR(txn.PutBotToken(t));
      return true;
    });
    ASSERT_TRUE(r.ok()) << r.error().message;
  };
  auto find = [&](const std::string& hash) {
    auto r =
        ReadAccountsSync<std::optional<BotToken>>(*store, [hash](AccountsTxn& txn) { return txn.FindBotToken(hash); });
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : std::nullopt;
  };
  auto user = [&](UserId id) {
    auto r = ReadAccountsSync<std::optional<User>>(*store, [id](AccountsTxn& txn) { return txn.FindUser(id); });
    EXPECT_TRUE(r.ok() && *r);
    return r.ok() && *r ? **r : User{};
  };
  EXPECT_FALSE(user(bot).bot);
  put(BotToken{"hash-one", bot, 11, 100});
  EXPECT_TRUE(user(bot).bot);
  EXPECT_FALSE(user(person).bot);
  auto found = find("hash-one");
  ASSERT_TRUE(found);
  EXPECT_EQ(std::make_tuple(found->user_id, found->session_id, found->created_at),
            std::make_tuple(bot, SessionId{11}, int64_t{100}));
  EXPECT_FALSE(find("hash-two"));

  put(BotToken{"hash-two", bot, 12, 200});
  EXPECT_FALSE(find("hash-one")) << "a rotated token still opens the bot";
  ASSERT_TRUE(find("hash-two"));
  EXPECT_EQ(find("hash-two")->session_id, 12);

  auto erased = WriteAccountsSync<std::vector<SessionId>>(
      *store, [bot](AccountsTxn& txn) { return txn.EraseAccount(bot, 300, 400); });
  ASSERT_TRUE(erased.ok()) << erased.error().message;
  EXPECT_FALSE(find("hash-two")) << "an erased bot's token still opens it";
}

INSTANTIATE_TEST_SUITE_P(Sqlite, BotStore, ::testing::Values("sqlite"));
INSTANTIATE_TEST_SUITE_P(Postgres, BotStore, ::testing::ValuesIn(PostgresParams()));
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(BotStore);

}  // namespace
}  // namespace natter::testing
