// One device's end of the Signal protocol (docs/e2ee.md), over Debian's
// libsignal-protocol-c with OpenSSL as its cryptography: the device's keys,
// sessions started by X3DH from another device's bundle, the Double Ratchet
// for each message, sender keys for groups, and safety numbers. Plaintexts
// are padded before encryption, so a ciphertext tells only a size class.
//
// Thread-safety: every call takes the device's lock (the library's own is
// recursive and per context); one DeviceCrypto per device and store.
#pragma once

#include <signal/signal_protocol.h>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "e2ee/protocol_store.h"
#include "e2ee/store_bridge.h"
#include "natter/status.h"

namespace natter::e2ee {

struct PreKeyPublic {
  uint32_t id = 0;
  std::string key;  // 33 bytes
};

struct SignedPreKeyPublic {
  uint32_t id = 0;
  std::string key;        // 33 bytes
  std::string signature;  // 64 bytes: the identity key's XEdDSA signature of `key`
};

// What the server's keys.bundle gives for one device, decoded.
struct Bundle {
  uint32_t registration_id = 0;
  std::string identity_key;
  SignedPreKeyPublic signed_prekey;
  std::optional<PreKeyPublic> prekey;  // none left: X3DH goes on without one
};

// A ciphertext with the protocol's type beside it (the bytes do not say it
// reliably): 3 starts a session (PreKeySignalMessage), 2 is a SignalMessage,
// 4 a group's sender-key message, 5 a sender key's distribution.
struct Ciphertext {
  int type = 0;
  std::string bytes;
};
inline constexpr int kPreKeyMessage = 3;
inline constexpr int kSignalMessage = 2;
inline constexpr int kSenderKeyMessage = 4;

// Failures, as natter's error codes: not_found (no session: start one),
// conflict (decrypted before: a duplicate), bad_request (tampered, unknown
// type, too far out of order, a key of the wrong form), forbidden (a known
// device with another identity key), unavailable (the store failed).
class DeviceCrypto {
 public:
  // A new identity for a device's first start, and its registration id.
  static IdentityKeyPair NewIdentity();
  static uint32_t NewRegistrationId();

  // `store` must hold the identity and outlive this.
  explicit DeviceCrypto(ProtocolStore& store);
  ~DeviceCrypto();
  DeviceCrypto(const DeviceCrypto&) = delete;
  DeviceCrypto& operator=(const DeviceCrypto&) = delete;

  // One-time prekeys with ids [first, first + count) (1 to 2^24 - 2), kept
  // in the store; their public halves to publish.
  Result<std::vector<PreKeyPublic>> NewPreKeys(uint32_t first, uint32_t count);
  Result<SignedPreKeyPublic> NewSignedPreKey(uint32_t id, uint64_t now_ms);

  // X3DH with `device` from its bundle: the signed prekey's signature is
  // checked, and a known device presenting another identity is refused.
  Status StartSession(const Address& device, const Bundle& bundle);
  // False also when the store cannot say (Encrypt then tells the failure).
  bool HasSession(const Address& device);
  // Forgets the session with `device` (the next message starts a new one).
  Status EndSession(const Address& device);

  Result<Ciphertext> Encrypt(const Address& device, std::string_view plaintext);
  Result<std::string> Decrypt(const Address& device, const Ciphertext& ciphertext);

  // Groups: `self` is this device's address; each sender has its own key,
  // given to the others in a distribution message sent over the pairwise
  // sessions. A distribution processed before is not processed again (that
  // would let old group messages decrypt twice).
  Result<std::string> OwnSenderKey(const std::string& group, const Address& self);
  Status ProcessSenderKey(const std::string& group, const Address& sender, std::string_view distribution);
  Result<std::string> GroupEncrypt(const std::string& group, const Address& self, std::string_view plaintext);
  Result<std::string> GroupDecrypt(const std::string& group, const Address& sender, std::string_view bytes);

  // The 60-digit safety number of two users, each by a stable id (their
  // user id) and the identity keys of all their devices; both sides compute
  // the same digits.
  Result<std::string> SafetyNumber(const std::string& local_id, const std::vector<std::string>& local_keys,
                                   const std::string& remote_id, const std::vector<std::string>& remote_keys);

 private:
  std::recursive_mutex mu_;  // the library's lock: it re-enters
  signal_context* context_ = nullptr;
  ProtocolStore& protocol_store_;
  StoreContext store_;
};

// Pads to a multiple of 160 bytes (0x80, then zeros), as Signal's apps do,
// and takes it off; nullopt when `padded` was not padded so.
std::string Pad(std::string_view plaintext);
std::optional<std::string> Unpad(std::string_view padded);

}  // namespace natter::e2ee
