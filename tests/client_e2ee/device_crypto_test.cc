// libnatter's end of the Signal protocol (docs/e2ee.md), between devices
// that each keep their own store: sessions from bundles, messages out of
// order, lost, replayed or tampered with, a device whose identity changes,
// groups with sender keys, and safety numbers. Everything goes through
// libsignal-protocol-c with the OpenSSL provider, as an app's would.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "e2ee/device_crypto.h"
#include "e2ee/memory_protocol_store.h"

namespace natter::e2ee {
namespace {

// One app install: its store, its crypto, and what it publishes.
struct Device {
  Device(std::string user, int32_t device_id)
      : address{std::move(user), device_id},
        store(DeviceCrypto::NewIdentity(), DeviceCrypto::NewRegistrationId()),
        crypto(store) {
    auto signed_prekey = crypto.NewSignedPreKey(1, 1'800'000'000'000);
    EXPECT_TRUE(signed_prekey.ok());
    if (signed_prekey.ok()) spk = *signed_prekey;
    auto keys = crypto.NewPreKeys(1, 5);
    EXPECT_TRUE(keys.ok());
    if (keys.ok()) prekeys = *keys;
  }

  // What the server's keys.bundle would hand out: the next one-time prekey.
  Bundle NextBundle() {
    Bundle b{store.RegistrationId(), store.Identity()->public_key, spk, std::nullopt};
    if (next < prekeys.size()) b.prekey = prekeys[next++];
    return b;
  }

  Address address;
  MemoryProtocolStore store;
  DeviceCrypto crypto;
  SignedPreKeyPublic spk;
  std::vector<PreKeyPublic> prekeys;
  size_t next = 0;
};

Ciphertext Send(Device& from, Device& to, const std::string& text) {
  auto c = from.crypto.Encrypt(to.address, text);
  EXPECT_TRUE(c.ok()) << c.error().message;
  return c.ok() ? *c : Ciphertext{};
}

std::string Receive(Device& at, Device& from, const Ciphertext& c) {
  auto p = at.crypto.Decrypt(from.address, c);
  EXPECT_TRUE(p.ok()) << p.error().message;
  return p.ok() ? *p : std::string("<failed>");
}

TEST(DeviceCrypto, ASessionFromABundleCarriesMessagesBothWays) {
  Device alice("1", 1), bob("2", 1);
  EXPECT_EQ(alice.store.Identity()->public_key.size(), 33u);
  EXPECT_EQ(alice.spk.signature.size(), 64u);
  EXPECT_FALSE(alice.crypto.HasSession(bob.address));
  ASSERT_TRUE(alice.crypto.StartSession(bob.address, bob.NextBundle()).ok());
  EXPECT_TRUE(alice.crypto.HasSession(bob.address));

  Ciphertext first = Send(alice, bob, "hello bob");
  EXPECT_EQ(first.type, kPreKeyMessage);
  EXPECT_EQ(first.bytes.find("hello bob"), std::string::npos);
  EXPECT_EQ(bob.store.PreKeyCount(), 5u);
  EXPECT_EQ(Receive(bob, alice, first), "hello bob");
  EXPECT_EQ(bob.store.PreKeyCount(), 4u);  // the one-time prekey is gone once used
  Ciphertext reply = Send(bob, alice, "hi alice");
  EXPECT_EQ(reply.type, kSignalMessage);
  EXPECT_EQ(Receive(alice, bob, reply), "hi alice");
  EXPECT_EQ(Send(alice, bob, "again").type, kSignalMessage);  // alice has heard back
}

TEST(DeviceCrypto, PaddingHidesTheLengthWithinABlock) {
  Device alice("1", 1), bob("2", 1);
  ASSERT_TRUE(alice.crypto.StartSession(bob.address, bob.NextBundle()).ok());
  Ciphertext short_one = Send(alice, bob, "a");
  Ciphertext longer = Send(alice, bob, std::string(150, 'x'));
  EXPECT_EQ(short_one.bytes.size(), longer.bytes.size());
  EXPECT_EQ(Pad("").size(), 160u);
  EXPECT_EQ(Pad(std::string(159, 'x')).size(), 160u);
  EXPECT_EQ(Pad(std::string(160, 'x')).size(), 320u);
  // Plaintexts that end as padding does come back whole.
  for (std::string text : {std::string("text"), std::string("ends in \x80"), std::string("ends in zeros\0\0", 15),
                           std::string(159, 'x'), std::string(160, '\0')}) {
    EXPECT_EQ(Unpad(Pad(text)).value_or("<none>"), text);
  }
  EXPECT_FALSE(Unpad(std::string(160, '\0')).has_value());
}

TEST(DeviceCrypto, MessagesOutOfOrderAndAfterALossStillDecrypt) {
  Device alice("1", 1), bob("2", 1);
  ASSERT_TRUE(alice.crypto.StartSession(bob.address, bob.NextBundle()).ok());
  EXPECT_EQ(Receive(bob, alice, Send(alice, bob, "m0")), "m0");
  Ciphertext m1 = Send(alice, bob, "m1"), m2 = Send(alice, bob, "m2"), m3 = Send(alice, bob, "m3");
  Ciphertext lost = Send(alice, bob, "m4");
  (void)lost;
  Ciphertext m5 = Send(alice, bob, "m5");
  EXPECT_EQ(Receive(bob, alice, m3), "m3");
  EXPECT_EQ(Receive(bob, alice, m1), "m1");
  EXPECT_EQ(Receive(bob, alice, m5), "m5");
  EXPECT_EQ(Receive(bob, alice, m2), "m2");
  // A replay is a duplicate, never a second plaintext.
  auto again = bob.crypto.Decrypt(alice.address, m2);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
}

TEST(DeviceCrypto, ATamperedCiphertextFailsCleanlyAndChangesNothing) {
  Device alice("1", 1), bob("2", 1);
  ASSERT_TRUE(alice.crypto.StartSession(bob.address, bob.NextBundle()).ok());
  // The first message's last byte is inside its inner message's MAC.
  Ciphertext first = Send(alice, bob, "setup");
  Ciphertext flipped = first;
  flipped.bytes.back() = static_cast<char>(flipped.bytes.back() ^ 0x01);
  EXPECT_FALSE(bob.crypto.Decrypt(alice.address, flipped).ok());
  EXPECT_EQ(Receive(bob, alice, first), "setup");
  EXPECT_EQ(Receive(alice, bob, Send(bob, alice, "ok")), "ok");
  // A SignalMessage is MACed whole: any byte after the version.
  Ciphertext m = Send(alice, bob, "pay 10");
  ASSERT_EQ(m.type, kSignalMessage);
  for (size_t i : {size_t{1}, size_t{5}, m.bytes.size() / 2, m.bytes.size() - 1}) {
    Ciphertext bad = m;
    bad.bytes[i] = static_cast<char>(bad.bytes[i] ^ 0x01);
    auto r = bob.crypto.Decrypt(alice.address, bad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kBadRequest) << r.error().message;
  }
  for (Ciphertext bad : {Ciphertext{kSignalMessage, ""}, Ciphertext{kSignalMessage, "garbage"}, Ciphertext{9, m.bytes},
                         Ciphertext{kPreKeyMessage, m.bytes}}) {
    auto r = bob.crypto.Decrypt(alice.address, bad);
    EXPECT_FALSE(r.ok()) << bad.type << " " << bad.bytes.size() << " " << (r.ok() ? *r : "");
  }
  EXPECT_EQ(Receive(bob, alice, m), "pay 10");  // the session was left as it was
}

TEST(DeviceCrypto, NoSessionAndABadBundleAreTypedErrors) {
  Device alice("1", 1), bob("2", 1), mallory("3", 1);
  auto none = alice.crypto.Encrypt(bob.address, "x");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::kNotFound);
  // A signed prekey signed by someone else's identity is refused.
  Bundle forged = bob.NextBundle();
  forged.signed_prekey = mallory.spk;
  EXPECT_FALSE(alice.crypto.StartSession(bob.address, forged).ok());
  Bundle truncated = bob.NextBundle();
  truncated.signed_prekey.signature.resize(63);
  EXPECT_EQ(alice.crypto.StartSession(bob.address, truncated).error().code, ErrorCode::kBadRequest);
  truncated = bob.NextBundle();
  truncated.identity_key = "short";
  EXPECT_EQ(alice.crypto.StartSession(bob.address, truncated).error().code, ErrorCode::kBadRequest);
  EXPECT_FALSE(alice.crypto.HasSession(bob.address));
}

TEST(DeviceCrypto, AKnownDeviceWithAnotherIdentityIsRefused) {
  Device alice("1", 1), bob("2", 1);
  ASSERT_TRUE(alice.crypto.StartSession(bob.address, bob.NextBundle()).ok());
  EXPECT_EQ(Receive(bob, alice, Send(alice, bob, "hi")), "hi");
  // Someone (a lying server) hands out another identity as bob's device 1.
  Device impostor("2", 1);
  auto r = alice.crypto.StartSession(bob.address, impostor.NextBundle());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kForbidden);
  // A session started by the impostor is refused at bob's side too.
  ASSERT_TRUE(impostor.crypto.StartSession(alice.address, alice.NextBundle()).ok());
  auto forged = alice.crypto.Decrypt(bob.address, Send(impostor, alice, "it's me"));
  ASSERT_FALSE(forged.ok());
  EXPECT_EQ(forged.error().code, ErrorCode::kForbidden);
}

TEST(DeviceCrypto, ALostSessionIsStartedAgainFromANewBundle) {
  Device alice("1", 1), bob("2", 1);
  ASSERT_TRUE(alice.crypto.StartSession(bob.address, bob.NextBundle()).ok());
  EXPECT_EQ(Receive(bob, alice, Send(alice, bob, "one")), "one");
  EXPECT_EQ(Receive(alice, bob, Send(bob, alice, "ack")), "ack");
  // Bob's device lost its state for alice (a reinstall would be a new device;
  // this is a failed decryption's reset): alice starts again.
  ASSERT_TRUE(bob.crypto.EndSession(alice.address).ok());
  auto r = bob.crypto.Decrypt(alice.address, Send(alice, bob, "two"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(alice.crypto.EndSession(bob.address).ok());
  ASSERT_TRUE(alice.crypto.StartSession(bob.address, bob.NextBundle()).ok());
  EXPECT_EQ(Receive(bob, alice, Send(alice, bob, "three")), "three");
}

TEST(DeviceCrypto, AGroupSharesOneCiphertextPerMessageThroughSenderKeys) {
  Device alice("1", 1), bob("2", 1), carol("3", 1);
  const std::string group = "g42";
  auto distribution = alice.crypto.OwnSenderKey(group, alice.address);
  ASSERT_TRUE(distribution.ok());
  // Alice gives her sender key to each member over their pairwise session.
  for (Device* member : {&bob, &carol}) {
    ASSERT_TRUE(alice.crypto.StartSession(member->address, member->NextBundle()).ok());
    std::string received = Receive(*member, alice, Send(alice, *member, *distribution));
    ASSERT_TRUE(member->crypto.ProcessSenderKey(group, alice.address, received).ok());
  }
  auto m1 = alice.crypto.GroupEncrypt(group, alice.address, "to everyone");
  auto m2 = alice.crypto.GroupEncrypt(group, alice.address, "again");
  ASSERT_TRUE(m1.ok() && m2.ok());
  EXPECT_EQ(bob.crypto.GroupDecrypt(group, alice.address, *m2).value(), "again");
  EXPECT_EQ(bob.crypto.GroupDecrypt(group, alice.address, *m1).value(), "to everyone");
  EXPECT_EQ(carol.crypto.GroupDecrypt(group, alice.address, *m1).value(), "to everyone");
  EXPECT_EQ(bob.crypto.GroupDecrypt(group, alice.address, *m1).error().code, ErrorCode::kConflict);
  // The same distribution again changes nothing: an old message stays decrypted once.
  ASSERT_TRUE(bob.crypto.ProcessSenderKey(group, alice.address, *distribution).ok());
  EXPECT_EQ(bob.crypto.GroupDecrypt(group, alice.address, *m1).error().code, ErrorCode::kConflict);
  // Someone without the key cannot read, nor can one tamper.
  Device dave("4", 1);
  EXPECT_EQ(dave.crypto.GroupDecrypt(group, alice.address, *m1).error().code, ErrorCode::kNotFound);
  std::string bad = *m2;
  bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0x10);
  EXPECT_FALSE(carol.crypto.GroupDecrypt(group, alice.address, bad).ok());
  EXPECT_EQ(carol.crypto.GroupDecrypt(group, alice.address, *m2).value(), "again");
}

TEST(DeviceCrypto, TwoThreadsShareOneDeviceSafely) {
  Device alice("1", 1), bob("2", 1), carol("3", 1);
  ASSERT_TRUE(alice.crypto.StartSession(bob.address, bob.NextBundle()).ok());
  ASSERT_TRUE(alice.crypto.StartSession(carol.address, carol.NextBundle()).ok());
  std::vector<Ciphertext> to_bob, to_carol;
  std::thread other([&] {
    for (int i = 0; i < 50; ++i) to_carol.push_back(Send(alice, carol, "c" + std::to_string(i)));
  });
  for (int i = 0; i < 50; ++i) to_bob.push_back(Send(alice, bob, "b" + std::to_string(i)));
  other.join();
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(Receive(bob, alice, to_bob[i]), "b" + std::to_string(i));
    EXPECT_EQ(Receive(carol, alice, to_carol[i]), "c" + std::to_string(i));
  }
}

TEST(DeviceCrypto, BothSidesComputeTheSameSafetyNumberAndANewDeviceChangesIt) {
  Device alice("1", 1), bob("2", 1), bob_tablet("2", 2);
  std::string a = alice.store.Identity()->public_key, b = bob.store.Identity()->public_key;
  std::string b2 = bob_tablet.store.Identity()->public_key;
  auto at_alice = alice.crypto.SafetyNumber("1", {a}, "2", {b});
  auto at_bob = bob.crypto.SafetyNumber("2", {b}, "1", {a});
  ASSERT_TRUE(at_alice.ok() && at_bob.ok());
  EXPECT_EQ(at_alice->size(), 60u);
  EXPECT_EQ(*at_alice, *at_bob);
  auto with_tablet = alice.crypto.SafetyNumber("1", {a}, "2", {b, b2});
  ASSERT_TRUE(with_tablet.ok());
  EXPECT_NE(*with_tablet, *at_alice);
  EXPECT_FALSE(alice.crypto.SafetyNumber("1", {a}, "2", {"not a key"}).ok());
}

}  // namespace
}  // namespace natter::e2ee
