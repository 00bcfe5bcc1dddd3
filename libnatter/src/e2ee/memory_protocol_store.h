// A ProtocolStore in memory: for tests, and for a device that keeps nothing.
#pragma once

#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "e2ee/protocol_store.h"

namespace natter::e2ee {

class MemoryProtocolStore : public ProtocolStore {
 public:
  MemoryProtocolStore(IdentityKeyPair identity, uint32_t registration_id)
      : identity_(std::move(identity)), registration_id_(registration_id) {}

  std::optional<IdentityKeyPair> Identity() override { return identity_; }
  uint32_t RegistrationId() override { return registration_id_; }

  std::optional<std::string> LoadSession(const Address& a) override { return Find(sessions_, a); }
  void StoreSession(const Address& a, const std::string& record) override { sessions_[a] = record; }
  bool DeleteSession(const Address& a) override { return sessions_.erase(a) > 0; }
  std::vector<int32_t> SessionDevices(const std::string& name) override;
  int DeleteSessions(const std::string& name) override;

  std::optional<std::string> LoadPreKey(uint32_t id) override { return Find(prekeys_, id); }
  void StorePreKey(uint32_t id, const std::string& record) override { prekeys_[id] = record; }
  void RemovePreKey(uint32_t id) override { prekeys_.erase(id); }
  std::optional<std::string> LoadSignedPreKey(uint32_t id) override { return Find(signed_prekeys_, id); }
  void StoreSignedPreKey(uint32_t id, const std::string& record) override { signed_prekeys_[id] = record; }
  void RemoveSignedPreKey(uint32_t id) override { signed_prekeys_.erase(id); }

  std::optional<std::string> RemoteIdentity(const Address& a) override { return Find(identities_, a); }
  void SaveRemoteIdentity(const Address& a, const std::string& key) override { identities_[a] = key; }

  std::optional<std::string> LoadSenderKey(const std::string& group, const Address& sender) override {
    return Find(sender_keys_, std::make_pair(group, sender));
  }
  void StoreSenderKey(const std::string& group, const Address& sender, const std::string& record) override {
    sender_keys_[{group, sender}] = record;
  }

  bool SenderKeySeen(const std::string& group, const Address& sender, uint32_t key_id) override {
    return seen_.contains({group, sender, key_id});
  }
  void MarkSenderKeySeen(const std::string& group, const Address& sender, uint32_t key_id) override {
    seen_.insert({group, sender, key_id});
  }

  size_t PreKeyCount() const { return prekeys_.size(); }

 private:
  template <class Map, class Key>
  static std::optional<std::string> Find(const Map& m, const Key& k) {
    auto it = m.find(k);
    return it == m.end() ? std::nullopt : std::optional<std::string>(it->second);
  }

  IdentityKeyPair identity_;
  uint32_t registration_id_;
  std::map<Address, std::string> sessions_;
  std::map<uint32_t, std::string> prekeys_;
  std::map<uint32_t, std::string> signed_prekeys_;
  std::map<Address, std::string> identities_;
  std::map<std::pair<std::string, Address>, std::string> sender_keys_;
  std::set<std::tuple<std::string, Address, uint32_t>> seen_;
};

}  // namespace natter::e2ee
