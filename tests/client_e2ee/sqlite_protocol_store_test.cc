// A device's protocol state on disk: it outlives a restart (identity,
// sessions, prekeys), opens only with the app's key, and holds no secret in
// the clear (the file is read byte by byte for them).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "e2ee/device_crypto.h"
#include "e2ee/memory_protocol_store.h"
#include "e2ee/sealed_box.h"
#include "e2ee/sqlite_protocol_store.h"

namespace natter::e2ee {
namespace {

std::string RandomKey() {
  std::random_device rd;
  std::string key(kSealingKeyBytes, '\0');
  for (char& c : key) c = static_cast<char>(rd());
  return key;
}

class SqliteProtocolStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = std::filesystem::temp_directory_path() / ("natter-e2ee-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir);
    path = (dir / "keys.db").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  std::string FileBytes() {
    std::string all;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      std::ifstream in(entry.path(), std::ios::binary);
      all.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    return all;
  }

  std::filesystem::path dir;
  std::string path;
  std::string key = RandomKey();
};

TEST_F(SqliteProtocolStoreTest, ADeviceKeepsItsIdentityAndSessionsAcrossARestart) {
  MemoryProtocolStore bob_store(DeviceCrypto::NewIdentity(), 7);
  DeviceCrypto bob(bob_store);
  auto spk = bob.NewSignedPreKey(1, 0);
  auto prekeys = bob.NewPreKeys(1, 2);
  ASSERT_TRUE(spk.ok() && prekeys.ok());
  Address bob_address{"2", 1}, alice_address{"1", 1};
  std::string first_identity;
  Ciphertext first;
  {
    auto store = SqliteProtocolStore::Open(path, key);
    ASSERT_TRUE(store.ok()) << store.error().message;
    first_identity = (*store)->Identity()->public_key;
    DeviceCrypto alice(**store);
    ASSERT_TRUE(alice.StartSession(bob_address, Bundle{7, bob_store.Identity()->public_key, *spk, (*prekeys)[0]}).ok());
    first = alice.Encrypt(bob_address, "before the restart").value();
  }
  auto store = SqliteProtocolStore::Open(path, key);
  ASSERT_TRUE(store.ok()) << store.error().message;
  EXPECT_EQ((*store)->Identity()->public_key, first_identity);
  DeviceCrypto alice(**store);
  EXPECT_TRUE(alice.HasSession(bob_address));
  Ciphertext second = alice.Encrypt(bob_address, "after it").value();
  EXPECT_EQ(bob.Decrypt(alice_address, first).value(), "before the restart");
  EXPECT_EQ(bob.Decrypt(alice_address, second).value(), "after it");
  EXPECT_EQ(alice.Decrypt(bob_address, bob.Encrypt(alice_address, "reply").value()).value(), "reply");
  // Its own prekeys too: a bundle of alice's starts a session from bob's side.
  auto alice_prekeys = alice.NewPreKeys(10, 1);
  auto alice_spk = alice.NewSignedPreKey(3, 0);
  ASSERT_TRUE(alice_prekeys.ok() && alice_spk.ok());
  Address bob_tablet{"2", 2};
  MemoryProtocolStore tablet_store(DeviceCrypto::NewIdentity(), 8);
  DeviceCrypto tablet(tablet_store);
  ASSERT_TRUE(tablet
                  .StartSession(alice_address,
                                Bundle{(*store)->RegistrationId(), first_identity, *alice_spk, (*alice_prekeys)[0]})
                  .ok());
  Ciphertext hello = tablet.Encrypt(alice_address, "from the tablet").value();
  // The store is reopened by a crypto of its own (each must outlive its crypto).
  auto reopened = SqliteProtocolStore::Open(path, key);
  ASSERT_TRUE(reopened.ok());
  DeviceCrypto alice_again(**reopened);
  EXPECT_EQ(alice_again.Decrypt(bob_tablet, hello).value(), "from the tablet");
  // Sessions are listed and ended per user.
  EXPECT_EQ((*reopened)->SessionDevices("2"), (std::vector<int32_t>{1, 2}));
  EXPECT_TRUE((*reopened)->SessionDevices("20").empty());
  EXPECT_EQ((*reopened)->DeleteSessions("2"), 2);
  EXPECT_FALSE(alice_again.HasSession(bob_address));
}

TEST_F(SqliteProtocolStoreTest, OnlyTheAppsKeyOpensItAndNoSecretIsInTheClear) {
  std::string private_key;
  {
    auto store = SqliteProtocolStore::Open(path, key);
    ASSERT_TRUE(store.ok());
    private_key = (*store)->Identity()->private_key;
    DeviceCrypto crypto(**store);
    ASSERT_TRUE(crypto.NewPreKeys(1, 20).ok());
  }
  ASSERT_EQ(private_key.size(), 32u);
  EXPECT_EQ(FileBytes().find(private_key), std::string::npos);
  auto wrong = SqliteProtocolStore::Open(path, RandomKey());
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, ErrorCode::kForbidden);
  EXPECT_EQ(SqliteProtocolStore::Open(path, "short").error().code, ErrorCode::kBadRequest);
  EXPECT_TRUE(SqliteProtocolStore::Open(path, key).ok());
}

TEST(SealedBox, AValueOpensOnlyWithItsKeyInItsPlace) {
  std::string key = RandomKey();
  std::string sealed = Seal(key, "prekey:1", "secret");
  EXPECT_EQ(Unseal(key, "prekey:1", sealed).value_or(""), "secret");
  EXPECT_FALSE(Unseal(key, "prekey:2", sealed).has_value());  // moved to another row
  EXPECT_FALSE(Unseal(RandomKey(), "prekey:1", sealed).has_value());
  for (size_t i : {size_t{0}, size_t{13}, sealed.size() - 1}) {
    std::string bad = sealed;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    EXPECT_FALSE(Unseal(key, "prekey:1", bad).has_value()) << i;
  }
  EXPECT_FALSE(Unseal(key, "prekey:1", sealed.substr(0, 10)).has_value());
  EXPECT_NE(Seal(key, "prekey:1", "secret"), sealed);  // a fresh nonce each time
}

}  // namespace
}  // namespace natter::e2ee
