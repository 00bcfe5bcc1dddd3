// The operators' part of the Store contract: server roles and suspensions are
// kept with the account, a password hash is replaced, ending a user's sessions
// ends only the open ones (and says which) and forgets their push devices, users are found by any part of
// their handle or display name in any case and paged by id, and the audit log
// keeps every line in order, read newest first through its filters. Run on
// SQLite and PostgreSQL alike.
#include <tuple>

#include "store/store_contract.h"

namespace natter::testing {
namespace {

using AdminStore = StoreContractTest;

TEST_P(AdminStore, RolesSuspensionsPasswordsAndSessions) {
  UserId alice = AddUser("Alice");
  auto ended =
      WriteAccountsSync<std::vector<SessionId>>(*store, [=](AccountsTxn& txn) -> Result<std::vector<SessionId>> {
        NATTER_RETURN_IF_ERROR(txn.InsertSession(Session{11, alice, "phone", false, 1}));
        NATTER_RETURN_IF_ERROR(txn.InsertSession(Session{12, alice, "tablet", false, 2}));
        NATTER_RETURN_IF_ERROR(txn.PutPushDevice(PushDevice{12, alice, "fcm", "token-12", "", "production", "en", 2}));
        NATTER_RETURN_IF_ERROR(txn.RevokeSession(11));
        NATTER_RETURN_IF_ERROR(txn.SetServerRole(alice, ServerRole::kModerator));
        NATTER_RETURN_IF_ERROR(txn.SetSuspended(alice, 5000));
        NATTER_RETURN_IF_ERROR(txn.SetPasswordHash(alice, "new-hash"));
        return txn.RevokeUserSessions(alice);
      });
  ASSERT_TRUE(ended.ok()) << ended.error().message;
  EXPECT_EQ(*ended, std::vector<SessionId>{12});  // 11 had ended already
  // Their devices are told nothing more (as after a logout).
  auto device =
      ReadAccountsSync<std::optional<PushDevice>>(*store, [](AccountsTxn& txn) { return txn.FindPushDevice(12); });
  ASSERT_TRUE(device.ok());
  EXPECT_FALSE(device->has_value());
  auto user = ReadAccountsSync<std::optional<User>>(*store, [=](AccountsTxn& txn) { return txn.FindUser(alice); });
  ASSERT_TRUE(user.ok() && *user);
  EXPECT_EQ((*user)->server_role, ServerRole::kModerator);
  EXPECT_EQ((*user)->suspended_at, 5000);
  EXPECT_EQ((*user)->password_hash, "new-hash");
  auto sessions =
      ReadAccountsSync<std::vector<Session>>(*store, [=](AccountsTxn& txn) { return txn.ListSessions(alice); });
  ASSERT_TRUE(sessions.ok());
  ASSERT_EQ(sessions->size(), 2u);
  EXPECT_EQ((*sessions)[0].id, 12);  // newest first
  EXPECT_TRUE((*sessions)[0].revoked && (*sessions)[1].revoked);
  ASSERT_TRUE(WriteAccountsSync<bool>(*store, [=](AccountsTxn& txn) -> Result<bool> {
                NATTER_RETURN_IF_ERROR(txn.SetServerRole(alice, ServerRole::kNone));
                NATTER_RETURN_IF_ERROR(txn.SetSuspended(alice, 0));
                return true;
              }).ok());
  user = ReadAccountsSync<std::optional<User>>(*store, [=](AccountsTxn& txn) { return txn.FindUser(alice); });
  ASSERT_TRUE(user.ok() && *user);
  EXPECT_EQ((*user)->server_role, ServerRole::kNone);
  EXPECT_EQ((*user)->suspended_at, 0);
}

TEST_P(AdminStore, UsersAreFoundByAnyPartOfTheirNames) {
  UserId a = AddUser("Mallory"), b = AddUser("smallville"), c = AddUser("bob");
  ASSERT_TRUE(WriteAccountsSync<bool>(*store, [=](AccountsTxn& txn) -> Result<bool> {
                NATTER_TRY(bool set, txn.SetProfile(c, "Bob Mall", "", 0, 0));
                return set;
              }).ok());
  auto search = [&](std::string text, UserId after, int limit) {
    auto r = ReadAccountsSync<std::vector<User>>(*store,
                                                 [=](AccountsTxn& txn) { return txn.SearchUsers(text, after, limit); });
    std::vector<UserId> ids;
    for (const auto& u : r.ok() ? *r : std::vector<User>{}) ids.push_back(u.id);
    return ids;
  };
  EXPECT_EQ(search("MALL", 0, 10), (std::vector<UserId>{a, b, c}));  // ids grow with each user
  EXPECT_EQ(search("mall", 0, 2), (std::vector<UserId>{a, b}));
  EXPECT_EQ(search("mall", b, 2), (std::vector<UserId>{c}));
  EXPECT_EQ(search("%", 0, 10), std::vector<UserId>{});  // no pattern characters
  EXPECT_EQ(search("", 0, 10).size(), 3u);
}

TEST_P(AdminStore, TheAuditLogIsReadNewestFirstThroughItsFilters) {
  auto add = [&](UserId actor, std::string action, UserId target) {
    return WriteAccountsSync<bool>(*store, [=](AccountsTxn& txn) -> Result<bool> {
      NATTER_RETURN_IF_ERROR(txn.InsertAudit(AuditEntry{0, 100, actor, action, target, "{}", "127.0.0.1", "ok"}));
      return true;
    });
  };
  ASSERT_TRUE(add(1, "auth.login", 1).ok());
  ASSERT_TRUE(add(2, "admin.users.suspend", 1).ok());
  ASSERT_TRUE(add(2, "admin.users.list", 0).ok());
  auto read = [&](AuditQuery q) {
    auto r = ReadAccountsSync<std::vector<AuditEntry>>(*store, [=](AccountsTxn& txn) { return txn.ListAudit(q); });
    std::vector<std::string> actions;
    for (const auto& e : r.ok() ? *r : std::vector<AuditEntry>{}) actions.push_back(e.action);
    return actions;
  };
  EXPECT_EQ(read(AuditQuery{}), (std::vector<std::string>{"admin.users.list", "admin.users.suspend", "auth.login"}));
  EXPECT_EQ(read(AuditQuery{2, 0, "", INT64_MAX, 100}),
            (std::vector<std::string>{"admin.users.list", "admin.users.suspend"}));
  EXPECT_EQ(read(AuditQuery{0, 1, "", INT64_MAX, 100}),
            (std::vector<std::string>{"admin.users.suspend", "auth.login"}));
  EXPECT_EQ(read(AuditQuery{0, 0, "auth.login", INT64_MAX, 100}), std::vector<std::string>{"auth.login"});
  auto all = ReadAccountsSync<std::vector<AuditEntry>>(*store, [](AccountsTxn& txn) { return txn.ListAudit({}); });
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_GT((*all)[0].id, (*all)[1].id);
  EXPECT_EQ((*all)[2].address, "127.0.0.1");
  EXPECT_EQ(read(AuditQuery{0, 0, "", (*all)[1].id, 100}), std::vector<std::string>{"auth.login"});
  EXPECT_EQ(read(AuditQuery{0, 0, "", INT64_MAX, 1}), std::vector<std::string>{"admin.users.list"});
}

TEST_P(AdminStore, ReportsAreQueuedClaimedAndResolvedOnce) {
  Report message{0, 100, 1, 2, 77, 5, "spam", "again", "buy now"};
  Report user{0, 200, 1, 3, 0, 0, "harassment", "", ""};
  using Filed = std::tuple<int64_t, int64_t, std::optional<Report>, std::optional<Report>>;
  auto filed = WriteAccountsSync<Filed>(*store, [=](AccountsTxn& txn) -> Result<Filed> {
    NATTER_TRY(int64_t first, txn.InsertReport(message));
    NATTER_TRY(int64_t second, txn.InsertReport(user));
    NATTER_TRY(auto open, txn.FindOpenReport(1, 2, 77, 5));
    NATTER_TRY(auto other, txn.FindOpenReport(1, 2, 77, 6));
    return Filed{first, second, open, other};
  });
  ASSERT_TRUE(filed.ok()) << filed.error().message;
  auto [first, second, open, other] = *filed;
  EXPECT_GT(second, first);
  ASSERT_TRUE(open.has_value());
  EXPECT_EQ(open->id, first);
  EXPECT_EQ(open->message_text, "buy now");
  EXPECT_EQ(open->state, "open");
  EXPECT_FALSE(other.has_value());
  using Steps = std::vector<bool>;
  auto closed = WriteAccountsSync<Steps>(*store, [=](AccountsTxn& txn) -> Result<Steps> {
    NATTER_TRY(bool unclaimed, txn.ResolveReport(first, 9, 300, "dismissed", ""));  // not claimed: no
    NATTER_TRY(bool claimed, txn.ClaimReport(first, 8));
    NATTER_RETURN_IF_ERROR(txn.ReleaseReport(first, 8));  // 8's action failed: open again
    NATTER_TRY(bool again, txn.ClaimReport(first, 9));
    NATTER_TRY(bool taken, txn.ClaimReport(first, 8));  // 9 holds it
    NATTER_TRY(bool by_other, txn.ResolveReport(first, 8, 300, "dismissed", ""));
    NATTER_TRY(bool once, txn.ResolveReport(first, 9, 300, "message_deleted", "gone"));
    NATTER_TRY(bool twice, txn.ResolveReport(first, 9, 400, "dismissed", ""));
    return Steps{unclaimed, claimed, again, taken, by_other, once, twice};
  });
  ASSERT_TRUE(closed.ok()) << closed.error().message;
  EXPECT_EQ(*closed, (Steps{false, true, true, false, false, true, false}));
  auto list = [&](std::string state) {
    auto r = ReadAccountsSync<std::vector<Report>>(
        *store, [=](AccountsTxn& txn) { return txn.ListReports(state, INT64_MAX, 10); });
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : std::vector<Report>{};
  };
  ASSERT_EQ(list("open").size(), 1u);
  EXPECT_EQ(list("open")[0].id, second);
  auto all = list("");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].id, first);  // newest first
  EXPECT_EQ(all[1].resolution, "message_deleted");
  EXPECT_EQ(all[1].resolved_by, 9);
  EXPECT_EQ(all[1].resolved_at, 300);
  EXPECT_EQ(all[1].note, "gone");
  auto reopened = ReadAccountsSync<std::optional<Report>>(
      *store, [=](AccountsTxn& txn) { return txn.FindOpenReport(1, 2, 77, 5); });
  ASSERT_TRUE(reopened.ok());
  EXPECT_FALSE(reopened->has_value());  // resolved: a new report of it would be a new one
  // One open report per reporter and thing reported, whoever files it.
  auto twice = WriteAccountsSync<int64_t>(*store, [=](AccountsTxn& txn) -> Result<int64_t> {
    NATTER_TRY(int64_t id, txn.InsertReport(user));
    (void)id;
    return txn.InsertReport(user);
  });
  EXPECT_FALSE(twice.ok());
}

TEST_P(AdminStore, InviteCodesAreUsedUpAndExpire) {
  using Uses = std::vector<bool>;
  auto used = WriteAccountsSync<Uses>(*store, [](AccountsTxn& txn) -> Result<Uses> {
    NATTER_TRY(int64_t two, txn.InsertInviteCode(InviteCode{0, "hash-two", "abcd", 1, 100, 0, 2}));
    NATTER_TRY(int64_t soon, txn.InsertInviteCode(InviteCode{0, "hash-soon", "efgh", 1, 100, 1000, 5}));
    (void)two;
    (void)soon;
    Uses out;
    for (int i = 0; i < 3; ++i) {
      NATTER_TRY(bool ok, txn.UseInviteCode("hash-two", 500));
      out.push_back(ok);
    }
    NATTER_TRY(bool before, txn.UseInviteCode("hash-soon", 999));
    NATTER_TRY(bool after, txn.UseInviteCode("hash-soon", 1000));
    NATTER_TRY(bool unknown, txn.UseInviteCode("hash-none", 1));
    out.insert(out.end(), {before, after, unknown});
    return out;
  });
  ASSERT_TRUE(used.ok()) << used.error().message;
  EXPECT_EQ(*used, (Uses{true, true, false, true, false, false}));
  auto codes =
      ReadAccountsSync<std::vector<InviteCode>>(*store, [](AccountsTxn& txn) { return txn.ListInviteCodes(); });
  ASSERT_TRUE(codes.ok());
  ASSERT_EQ(codes->size(), 2u);
  EXPECT_EQ((*codes)[0].hint, "efgh");  // newest first
  EXPECT_EQ((*codes)[0].uses_left, 4);
  EXPECT_EQ((*codes)[1].uses_left, 0);
  int64_t id = (*codes)[1].id;
  auto deleted = WriteAccountsSync<Uses>(*store, [id](AccountsTxn& txn) -> Result<Uses> {
    NATTER_TRY(bool once, txn.DeleteInviteCode(id));
    NATTER_TRY(bool twice, txn.DeleteInviteCode(id));
    return Uses{once, twice};
  });
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, (Uses{true, false}));
}

INSTANTIATE_TEST_SUITE_P(Sqlite, AdminStore, ::testing::Values("sqlite"));
INSTANTIATE_TEST_SUITE_P(Postgres, AdminStore, ::testing::ValuesIn(PostgresParams()));
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(AdminStore);

}  // namespace
}  // namespace natter::testing
