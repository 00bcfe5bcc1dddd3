// EndToEnd (end_to_end.h) over the Signal protocol: DeviceCrypto on a
// SqliteProtocolStore, with the protocol's JSON shapes translated to and
// from its types. Keys and ciphertexts travel as unpadded base64url.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>

#include "auth/base64url.h"
#include "common/json_lookup.h"
#include "e2ee/device_crypto.h"
#include "e2ee/sqlite_protocol_store.h"
#include "end_to_end.h"

namespace natter::client {
namespace {

namespace json = boost::json;
using auth::Base64UrlDecode;
using auth::Base64UrlEncode;
using e2ee::Address;
using json_lookup::Int;
using json_lookup::Str;

Address AddressOf(int64_t user_id, int64_t device_id) {
  return Address{std::to_string(user_id), static_cast<int32_t>(device_id)};
}

Result<std::string> Bytes(const json::object& o, const char* key) {
  auto bytes = Base64UrlDecode(Str(o, key));
  if (!bytes || bytes->empty()) return BadRequest(std::string("'") + key + "' is not base64url");
  return *bytes;
}

Result<e2ee::Bundle> DecodeBundle(const json::object& d) {
  e2ee::Bundle b;
  int64_t registration = Int(d, "registration_id");
  if (registration <= 0 || registration > INT32_MAX) return BadRequest("a bundle without a registration_id");
  b.registration_id = static_cast<uint32_t>(registration);
  NATTER_TRY(b.identity_key, Bytes(d, "identity_key"));
  const auto* spk = d.if_contains("signed_prekey");
  if (!spk || !spk->is_object()) return BadRequest("a bundle without a signed_prekey");
  b.signed_prekey.id = static_cast<uint32_t>(Int(spk->get_object(), "id"));
  NATTER_TRY(b.signed_prekey.key, Bytes(spk->get_object(), "key"));
  NATTER_TRY(b.signed_prekey.signature, Bytes(spk->get_object(), "signature"));
  if (const auto* pk = d.if_contains("prekey"); pk && pk->is_object()) {
    e2ee::PreKeyPublic prekey;
    prekey.id = static_cast<uint32_t>(Int(pk->get_object(), "id"));
    NATTER_TRY(prekey.key, Bytes(pk->get_object(), "key"));
    b.prekey = std::move(prekey);
  }
  return b;
}

json::array PreKeysJson(const std::vector<e2ee::PreKeyPublic>& keys) {
  json::array out;
  for (const auto& k : keys) out.push_back({{"id", k.id}, {"key", Base64UrlEncode(k.key)}});
  return out;
}

json::object SignedJson(const e2ee::SignedPreKeyPublic& k) {
  return {{"id", k.id}, {"key", Base64UrlEncode(k.key)}, {"signature", Base64UrlEncode(k.signature)}};
}

uint64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class SignalEndToEnd final : public EndToEnd {
 public:
  explicit SignalEndToEnd(std::unique_ptr<e2ee::SqliteProtocolStore> store)
      : store_(std::move(store)), crypto_(*store_) {}

  Result<json::object> FirstKeys(uint32_t signed_id, uint32_t first_prekey, uint32_t count) override {
    NATTER_TRY(auto signed_key, crypto_.NewSignedPreKey(signed_id, NowMs()));
    NATTER_TRY(auto prekeys, crypto_.NewPreKeys(first_prekey, count));
    return json::object{{"registration_id", store_->RegistrationId()},
                        {"identity_key", Base64UrlEncode(IdentityKey())},
                        {"signed_prekey", SignedJson(signed_key)},
                        {"prekeys", PreKeysJson(prekeys)}};
  }

  Result<json::object> MorePreKeys(uint32_t first, uint32_t count) override {
    NATTER_TRY(auto prekeys, crypto_.NewPreKeys(first, count));
    return json::object{{"prekeys", PreKeysJson(prekeys)}};
  }

  Result<json::object> RenewSignedPreKey(uint32_t id) override {
    NATTER_TRY(auto signed_key, crypto_.NewSignedPreKey(id, NowMs()));
    return json::object{{"identity_key", Base64UrlEncode(IdentityKey())}, {"signed_prekey", SignedJson(signed_key)}};
  }

  std::string IdentityKey() override { return store_->Identity()->public_key; }

  bool HasSession(const DeviceRef& d) override { return crypto_.HasSession(AddressOf(d.user_id, d.device_id)); }

  std::optional<std::string> KnownIdentity(const DeviceRef& d) override {
    try {
      return store_->RemoteIdentity(AddressOf(d.user_id, d.device_id));
    } catch (const std::exception&) {  // unreadable: as if unknown, the session check refuses it anyway
      return std::nullopt;
    }
  }

  Status StartSession(int64_t user_id, const json::object& device) override {
    NATTER_TRY(auto bundle, DecodeBundle(device));
    return crypto_.StartSession(AddressOf(user_id, Int(device, "device_id")), bundle);
  }

  void EndSession(const DeviceRef& d) override { (void)crypto_.EndSession(AddressOf(d.user_id, d.device_id)); }

  Result<json::object> Encrypt(const std::string& group, bool sender_key, const DeviceRef& self,
                               const std::vector<DeviceRef>& to, const std::set<DeviceRef>& needs_key,
                               std::string_view content) override {
    json::object out;
    std::string distribution;
    if (sender_key) {
      Address me = AddressOf(self.user_id, self.device_id);
      // The distribution first: it gives the key as it is before this
      // message, so its readers can read this message too.
      NATTER_TRY(auto key, crypto_.OwnSenderKey(group, me));
      distribution = json::serialize(json::object{{"sender_key", Base64UrlEncode(key)}});
      NATTER_TRY(auto body, crypto_.GroupEncrypt(group, me, content));
      out["type"] = e2ee::kSenderKeyMessage;
      out["body"] = Base64UrlEncode(body);
    }
    json::array devices;
    for (const auto& d : to) {
      json::object envelope{{"user_id", d.user_id}, {"device_id", d.device_id}};
      if (!sender_key || needs_key.count(d)) {
        NATTER_TRY(auto c, crypto_.Encrypt(AddressOf(d.user_id, d.device_id), sender_key ? distribution : content));
        envelope["type"] = c.type;
        envelope["body"] = Base64UrlEncode(c.bytes);
      }
      devices.push_back(std::move(envelope));
    }
    out["devices"] = std::move(devices);
    return out;
  }

  Result<std::string> Decrypt(const std::string& group, int64_t sender_id, const DeviceRef& self,
                              const json::object& encrypted) override {
    Address sender = AddressOf(sender_id, Int(encrypted, "device_id"));
    const json::object* mine = nullptr;
    if (const auto* list = encrypted.if_contains("envelopes"); list && list->is_array()) {
      for (const auto& e : list->get_array()) {
        if (e.is_object() && Int(e.get_object(), "user_id") == self.user_id &&
            Int(e.get_object(), "device_id") == self.device_id) {
          mine = &e.get_object();
        }
      }
    }
    bool shared = Int(encrypted, "type") == e2ee::kSenderKeyMessage && !Str(encrypted, "body").empty();
    if (mine) {
      NATTER_TRY(auto bytes, Bytes(*mine, "body"));
      NATTER_TRY(auto plain, crypto_.Decrypt(sender, {static_cast<int>(Int(*mine, "type")), bytes}));
      if (!shared) return plain;
      // In a group, what comes pairwise is the sender's key.
      boost::system::error_code ec;
      json::value v = json::parse(plain, ec);
      if (ec || !v.is_object()) return BadRequest("a group envelope that is not a sender key");
      NATTER_TRY(auto key, Bytes(v.get_object(), "sender_key"));
      auto processed = crypto_.ProcessSenderKey(group, sender, key);
      if (!processed.ok() && processed.error().code != ErrorCode::kConflict) return processed.take_error();
    }
    if (!shared) return NotFound("nothing in this message is for this device");
    NATTER_TRY(auto body, Bytes(encrypted, "body"));
    return crypto_.GroupDecrypt(group, sender, body);
  }

  Result<std::string> SafetyNumber(int64_t me, const std::vector<std::string>& my_keys, int64_t them,
                                   const std::vector<std::string>& their_keys) override {
    return crypto_.SafetyNumber(std::to_string(me), my_keys, std::to_string(them), their_keys);
  }

 private:
  std::unique_ptr<e2ee::SqliteProtocolStore> store_;
  e2ee::DeviceCrypto crypto_;
};

}  // namespace

std::unique_ptr<EndToEnd> OpenEndToEnd(const std::string& path, const std::string& sealing_key, std::string& why) {
  auto store = e2ee::SqliteProtocolStore::Open(path, sealing_key);
  if (!store.ok()) {
    why = store.error().message;
    return nullptr;
  }
  return std::make_unique<SignalEndToEnd>(std::move(*store));
}

}  // namespace natter::client
