// The key directory part of the Store contract (docs/e2ee.md): a user's
// devices get ids from 1, a session has at most one device, and a one-time
// prekey is handed out once, however many claim at once and on however many
// nodes. Run on SQLite and PostgreSQL alike.
#include <algorithm>
#include <mutex>
#include <set>
#include <thread>

#include "store/store_contract.h"

namespace natter::testing {
namespace {

class KeyStore : public StoreContractTest {
 protected:
  DeviceId Add(Store& s, UserId user, SessionId session, const std::string& identity) {
    DeviceKeys d{user, 0, session, 77, identity, SignedPreKey{1, "spk-" + identity, "sig-" + identity}, 1000};
    auto r = WriteAccountsSync<DeviceId>(s, [d](AccountsTxn& txn) { return txn.AddDevice(d); });
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : 0;
  }
  void AddPreKeys(UserId user, DeviceId device, int first, int count) {
    std::vector<OneTimePreKey> keys;
    for (int i = first; i < first + count; ++i) keys.push_back(OneTimePreKey{i, "pk-" + std::to_string(i)});
    auto r = WriteAccountsSync<bool>(*store, [=](AccountsTxn& txn) -> Result<bool> {
      NATTER_RETURN_IF_ERROR(txn.AddPreKeys(user, device, keys, 1000));
      return true;
    });
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  int64_t Count(UserId user, DeviceId device) {
    auto r = ReadAccountsSync<int64_t>(*store, [=](AccountsTxn& txn) { return txn.CountPreKeys(user, device); });
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : -1;
  }
  std::optional<OneTimePreKey> Claim(Store& s, UserId user, DeviceId device) {
    auto r = WriteAccountsSync<std::optional<OneTimePreKey>>(
        s, [=](AccountsTxn& txn) { return txn.ClaimPreKey(user, device); });
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : std::nullopt;
  }
  std::vector<DeviceKeys> Devices(UserId user) {
    auto r = ReadAccountsSync<std::vector<DeviceKeys>>(*store, [=](AccountsTxn& txn) { return txn.ListDevices(user); });
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : std::vector<DeviceKeys>{};
  }
};

TEST_P(KeyStore, DevicesAreNumberedPerUserAndFoundByTheirSession) {
  UserId alice = AddUser("alice"), bob = AddUser("bob");
  EXPECT_EQ(Add(*store, alice, 10, "a1"), 1);
  EXPECT_EQ(Add(*store, alice, 11, "a2"), 2);
  EXPECT_EQ(Add(*store, bob, 20, "b1"), 1);
  auto devices = Devices(alice);
  ASSERT_EQ(devices.size(), 2u);
  EXPECT_EQ(devices[1].identity_key, "a2");
  EXPECT_EQ(devices[1].signed_prekey.signature, "sig-a2");
  EXPECT_EQ(devices[1].registration_id, 77);

  auto found = ReadAccountsSync<std::optional<DeviceKeys>>(
      *store, [=](AccountsTxn& txn) { return txn.FindDeviceOfSession(alice, 11); });
  ASSERT_TRUE(found.ok() && *found);
  EXPECT_EQ((*found)->device_id, 2);
  auto none = ReadAccountsSync<std::optional<DeviceKeys>>(
      *store, [=](AccountsTxn& txn) { return txn.FindDeviceOfSession(alice, 20); });
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(*none) << "bob's session is not alice's";

  auto replaced = WriteAccountsSync<bool>(*store, [=](AccountsTxn& txn) -> Result<bool> {
    NATTER_RETURN_IF_ERROR(txn.SetSignedPreKey(alice, 2, SignedPreKey{2, "spk-new", "sig-new"}));
    return txn.RemoveDevice(alice, 1);
  });
  ASSERT_TRUE(replaced.ok() && *replaced);
  devices = Devices(alice);
  ASSERT_EQ(devices.size(), 1u);
  EXPECT_EQ(devices[0].signed_prekey.id, 2);
  EXPECT_EQ(devices[0].signed_prekey.public_key, "spk-new");
  EXPECT_EQ(Add(*store, alice, 12, "a3"), 3);
  auto gone = WriteAccountsSync<bool>(*store, [=](AccountsTxn& txn) { return txn.RemoveDevice(alice, 3); });
  ASSERT_TRUE(gone.ok() && *gone);
  EXPECT_EQ(Add(*store, alice, 13, "a4"), 4) << "a removed device's id was given again";
}

TEST_P(KeyStore, PreKeysAreClaimedLowestFirstOnceAndRepublishingKeepsThem) {
  UserId alice = AddUser("alice");
  DeviceId device = Add(*store, alice, 10, "a1");
  AddPreKeys(alice, device, 1, 3);
  AddPreKeys(alice, device, 3, 2);  // 3 again: kept as it was, 4 added
  EXPECT_EQ(Count(alice, device), 4);
  auto first = Claim(*store, alice, device);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->id, 1);
  EXPECT_EQ(first->public_key, "pk-1");
  EXPECT_EQ(Count(alice, device), 3);
  for (int id : {2, 3, 4}) EXPECT_EQ(Claim(*store, alice, device)->id, id);
  EXPECT_FALSE(Claim(*store, alice, device));
  // A retried publish of keys already claimed brings none of them back.
  AddPreKeys(alice, device, 1, 4);
  EXPECT_EQ(Count(alice, device), 0);
  AddPreKeys(alice, device, 1, 6);  // only 5 and 6 are new
  EXPECT_EQ(Count(alice, device), 2);
  EXPECT_EQ(Claim(*store, alice, device)->id, 5);
}

TEST_P(KeyStore, ClaimsAtOnceFromTwoNodesNeverShareAKey) {
  UserId alice = AddUser("alice");
  DeviceId device = Add(*store, alice, 10, "a1");
  AddPreKeys(alice, device, 1, 60);
  auto other = Open();  // a second node over the same data
  std::mutex mu;
  std::vector<int64_t> claimed;
  int empty = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      Store& s = t % 2 ? *other : *store;
      for (int i = 0; i < 10; ++i) {
        auto key = Claim(s, alice, device);
        std::lock_guard lock(mu);
        if (key) {
          claimed.push_back(key->id);
        } else {
          ++empty;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<int64_t> unique(claimed.begin(), claimed.end());
  EXPECT_EQ(unique.size(), claimed.size()) << "a prekey was handed out twice";
  EXPECT_EQ(claimed.size(), 60u);
  EXPECT_EQ(empty, 20);
  EXPECT_EQ(Count(alice, device), 0);
}

TEST_P(KeyStore, AnEndedSessionTakesItsDeviceAndNoOther) {
  UserId alice = AddUser("alice");
  SessionId phone = 0, laptop = 0;
  auto opened = WriteAccountsSync<bool>(*store, [&](AccountsTxn& txn) -> Result<bool> {
    phone = ids.Next();
    laptop = ids.Next();
    NATTER_RETURN_IF_ERROR(txn.InsertSession(Session{phone, alice, "phone", false, 1000}));
    NATTER_RETURN_IF_ERROR(txn.InsertSession(Session{laptop, alice, "laptop", false, 1000}));
    return true;
  });
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  DeviceId on_phone = Add(*store, alice, phone, "a1");
  DeviceId on_laptop = Add(*store, alice, laptop, "a2");
  AddPreKeys(alice, on_phone, 1, 3);
  auto revoked = WriteAccountsSync<bool>(*store, [phone](AccountsTxn& txn) -> Result<bool> {
    NATTER_RETURN_IF_ERROR(txn.RevokeSession(phone));
    return true;
  });
  ASSERT_TRUE(revoked.ok()) << revoked.error().message;
  auto devices = Devices(alice);
  ASSERT_EQ(devices.size(), 1u);
  EXPECT_EQ(devices[0].device_id, on_laptop);
  EXPECT_EQ(Count(alice, on_phone), 0);
}

TEST_P(KeyStore, ErasingAUserRemovesTheirDevicesAndKeys) {
  UserId alice = AddUser("alice");
  DeviceId device = Add(*store, alice, 10, "a1");
  AddPreKeys(alice, device, 1, 5);
  auto erased = WriteAccountsSync<std::vector<SessionId>>(
      *store, [alice](AccountsTxn& txn) { return txn.EraseAccount(alice, 300, 400); });
  ASSERT_TRUE(erased.ok()) << erased.error().message;
  EXPECT_TRUE(Devices(alice).empty());
  EXPECT_EQ(Count(alice, device), 0);
}

TEST_P(KeyStore, AKeyComesBackByteForByteWhateverItHolds) {
  // The store takes keys as text; PostgreSQL's array literal must not bend them.
  UserId alice = AddUser("alice");
  DeviceId d = Add(*store, alice, 10, "a1");
  const std::string odd = R"(q"uote\back,comma{brace} )";
  auto r = WriteAccountsSync<int64_t>(*store, [=](AccountsTxn& txn) {
    return txn.AddPreKeys(alice, d, {OneTimePreKey{1, odd}, OneTimePreKey{2, ""}}, 1000);
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, 2);
  EXPECT_EQ(Claim(*store, alice, d)->public_key, odd);
  EXPECT_EQ(Claim(*store, alice, d)->public_key, "");
}

INSTANTIATE_TEST_SUITE_P(Sqlite, KeyStore, ::testing::Values("sqlite"));
INSTANTIATE_TEST_SUITE_P(Postgres, KeyStore, ::testing::ValuesIn(PostgresParams()));
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(KeyStore);

}  // namespace
}  // namespace natter::testing
