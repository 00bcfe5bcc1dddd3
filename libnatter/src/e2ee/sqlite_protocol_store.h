// A device's protocol state on disk (docs/e2ee.md, "Keys on the device"): its
// identity, prekeys, sessions, the identities it has seen and the groups'
// sender keys, in a SQLite file of its own in the profile's directory. Every
// value is sealed (sealed_box.h) with the key the app keeps in the platform
// keystore; what stays readable is which rows exist (with whom there are
// sessions), as the server knows anyway.
//
// Thread-safety: one DeviceCrypto's calls at a time (it holds its lock).
#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>

#include "e2ee/protocol_store.h"
#include "natter/status.h"

namespace natter::e2ee {

class SqliteProtocolStore : public ProtocolStore {
 public:
  // Opens the store at `path`, made with a new identity the first time.
  // `sealing_key` is 32 bytes; a key that does not open the stored identity
  // is `forbidden`, a file that is not a store `unavailable`.
  static Result<std::unique_ptr<SqliteProtocolStore>> Open(const std::string& path, std::string sealing_key);
  ~SqliteProtocolStore() override;

  std::optional<IdentityKeyPair> Identity() override { return identity_; }
  uint32_t RegistrationId() override { return registration_id_; }

  std::optional<std::string> LoadSession(const Address& a) override { return Load("session", Key(a)); }
  void StoreSession(const Address& a, const std::string& record) override { Save("session", Key(a), record); }
  bool DeleteSession(const Address& a) override { return Delete("session", Key(a)); }
  std::vector<int32_t> SessionDevices(const std::string& name) override;
  int DeleteSessions(const std::string& name) override;

  std::optional<std::string> LoadPreKey(uint32_t id) override { return Load("prekey", std::to_string(id)); }
  void StorePreKey(uint32_t id, const std::string& record) override { Save("prekey", std::to_string(id), record); }
  void RemovePreKey(uint32_t id) override { Delete("prekey", std::to_string(id)); }
  std::optional<std::string> LoadSignedPreKey(uint32_t id) override { return Load("signed", std::to_string(id)); }
  void StoreSignedPreKey(uint32_t id, const std::string& record) override {
    Save("signed", std::to_string(id), record);
  }
  void RemoveSignedPreKey(uint32_t id) override { Delete("signed", std::to_string(id)); }

  std::optional<std::string> RemoteIdentity(const Address& a) override { return Load("identity", Key(a)); }
  void SaveRemoteIdentity(const Address& a, const std::string& key) override { Save("identity", Key(a), key); }

  std::optional<std::string> LoadSenderKey(const std::string& group, const Address& sender) override {
    return Load("sender", group + "/" + Key(sender));
  }
  void StoreSenderKey(const std::string& group, const Address& sender, const std::string& record) override {
    Save("sender", group + "/" + Key(sender), record);
  }
  bool SenderKeySeen(const std::string& group, const Address& sender, uint32_t key_id) override {
    return Load("seen", group + "/" + Key(sender) + "/" + std::to_string(key_id)).has_value();
  }
  void MarkSenderKeySeen(const std::string& group, const Address& sender, uint32_t key_id) override {
    Save("seen", group + "/" + Key(sender) + "/" + std::to_string(key_id), "");
  }

 private:
  SqliteProtocolStore(sqlite3* db, std::string sealing_key) : db_(db), key_(std::move(sealing_key)) {}
  static std::string Key(const Address& a) { return a.name + "." + std::to_string(a.device_id); }

  // Throw std::runtime_error on a storage failure (the protocol call fails).
  std::optional<std::string> Load(const char* kind, const std::string& key);
  void Save(const char* kind, const std::string& key, const std::string& value);
  bool Delete(const char* kind, const std::string& key);

  sqlite3* db_;
  std::string key_;
  IdentityKeyPair identity_;
  uint32_t registration_id_ = 0;
};

}  // namespace natter::e2ee
