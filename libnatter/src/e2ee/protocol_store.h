// What a device keeps for the Signal protocol (docs/e2ee.md): its identity,
// its prekeys, its sessions with other devices, the identities it has seen
// and the groups' sender keys. The protocol's records are opaque bytes here;
// libnatter keeps them in its local store, tests in memory. Calls come from
// one device's context, under its lock, one at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace natter::e2ee {

// A device as the protocol names it: the user's id (decimal) and the device's.
struct Address {
  std::string name;
  int32_t device_id = 0;
  bool operator==(const Address&) const = default;
  bool operator<(const Address& o) const { return name != o.name ? name < o.name : device_id < o.device_id; }
};

struct IdentityKeyPair {
  std::string public_key;   // 33 bytes: 0x05, then the Curve25519 key
  std::string private_key;  // 32 bytes
};

// Every method may throw on a storage failure; the protocol call fails then,
// and nothing the store did not finish counts.
class ProtocolStore {
 public:
  virtual ~ProtocolStore() = default;

  virtual std::optional<IdentityKeyPair> Identity() = 0;
  virtual uint32_t RegistrationId() = 0;

  virtual std::optional<std::string> LoadSession(const Address& a) = 0;
  virtual void StoreSession(const Address& a, const std::string& record) = 0;
  virtual bool DeleteSession(const Address& a) = 0;
  virtual std::vector<int32_t> SessionDevices(const std::string& name) = 0;
  virtual int DeleteSessions(const std::string& name) = 0;

  virtual std::optional<std::string> LoadPreKey(uint32_t id) = 0;
  virtual void StorePreKey(uint32_t id, const std::string& record) = 0;
  virtual void RemovePreKey(uint32_t id) = 0;
  virtual std::optional<std::string> LoadSignedPreKey(uint32_t id) = 0;
  virtual void StoreSignedPreKey(uint32_t id, const std::string& record) = 0;
  virtual void RemoveSignedPreKey(uint32_t id) = 0;

  // The identity key a device of another user was seen with (each device has
  // its own; a device id is never given twice, so one that changes is a lie).
  virtual std::optional<std::string> RemoteIdentity(const Address& a) = 0;
  virtual void SaveRemoteIdentity(const Address& a, const std::string& key) = 0;

  virtual std::optional<std::string> LoadSenderKey(const std::string& group, const Address& sender) = 0;
  virtual void StoreSenderKey(const std::string& group, const Address& sender, const std::string& record) = 0;
  // Sender key distributions already processed, by key id: processing one
  // again, even after its state left the record, would let old messages
  // decrypt a second time.
  virtual bool SenderKeySeen(const std::string& group, const Address& sender, uint32_t key_id) = 0;
  virtual void MarkSenderKeySeen(const std::string& group, const Address& sender, uint32_t key_id) = 0;
};

}  // namespace natter::e2ee
