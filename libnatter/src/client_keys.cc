// This device's end-to-end encryption keys in the client core
// (docs/e2ee.md): opened with the app's sealing key, published once per
// session and topped up, forgotten with the session; what this device knows
// of others' devices; and safety numbers checked against the keys it
// actually encrypts to.
#include <filesystem>

#include "auth/base64url.h"
#include "client_core.h"
#include "common/json_lookup.h"

namespace natter::client {

namespace json = boost::json;
using json_lookup::Int;
using json_lookup::Str;

namespace {

constexpr uint32_t kPreKeysPerPublish = 100;
constexpr int64_t kTopUpBelow = 20;  // the server warns (keys.low) below 10
constexpr int64_t kSignedPreKeyDays = 7;
// The keys' file in the profile's directory, next to the local store.
constexpr const char* kKeysFile = "keys.db";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string DeviceName(const DeviceRef& d) { return std::to_string(d.user_id) + "." + std::to_string(d.device_id); }

}  // namespace

// Settings kept in the local store's kv, all named e2ee_*, so one sweep
// forgets them with the keys.
int64_t ClientCore::KvInt(const std::string& key, int64_t fallback) {
  auto v = store_->Get(key);
  if (!v) return fallback;
  try {
    return std::stoll(*v);
  } catch (const std::exception&) {
    return fallback;
  }
}

std::string ClientCore::OwnKeyGroup(int64_t conversation) {
  return std::to_string(conversation) + ":" +
         std::to_string(KvInt("e2ee_key_generation:" + std::to_string(conversation), 0));
}

void ClientCore::NewOwnKey(int64_t conversation) {
  // My key for the group under a new name is a new key: those who had the
  // old one (a member who left) cannot read what comes next.
  std::string key = "e2ee_key_generation:" + std::to_string(conversation);
  store_->Put(key, std::to_string(KvInt(key, 0) + 1));
}

std::string ClientCore::GivenKey(int64_t conversation, const DeviceRef& d) {
  return "e2ee_given:" + DeviceName(d) + ":" + OwnKeyGroup(conversation);
}

void ClientCore::ForgetGivenKeys(const DeviceRef& d) { store_->ErasePrefix("e2ee_given:" + DeviceName(d) + ":"); }

bool ClientCore::KnownUser(int64_t user_id) {
  return store_->Get("e2ee_known_user:" + std::to_string(user_id)).has_value();
}

void ClientCore::MeetDevice(const DeviceRef& d, bool identity_was_known) {
  // A device never seen before of someone this device already talks to
  // (me included): their safety number changed.
  if (!identity_was_known && KnownUser(d.user_id)) {
    Emit({{"@type", "identity_changed"}, {"user_id", d.user_id}, {"device_id", d.device_id}, {"reason", "new_device"}});
  }
  store_->Put("e2ee_known_user:" + std::to_string(d.user_id), "1");
}

void ClientCore::OpenKeys() {
  e2ee_.reset();
  keys_lost_ = false;
  if (options_.device_key.empty()) {
    e2ee_why_ = "no device_key was given to this client";
    return;
  }
  auto path = std::filesystem::path(options_.database_directory) / kKeysFile;
  e2ee_ = OpenEndToEnd(path.string(), options_.device_key, e2ee_why_);
  if (!e2ee_) {
    Emit({{"@type", "error"}, {"code", "forbidden"}, {"message", "end-to-end encryption keys: " + e2ee_why_}});
    return;
  }
  device_id_ = KvInt("e2ee_device_id", 0);
  // The server knows this session's device by the identity it published:
  // one made anew here (the keys file was lost) cannot read for that device.
  auto published = store_->Get("e2ee_identity");
  keys_lost_ = published && *published != auth::Base64UrlEncode(e2ee_->IdentityKey());
  if (keys_lost_) device_id_ = 0;
}

void ClientCore::ForgetKeys() {
  e2ee_.reset();
  device_id_ = 0;
  keys_lost_ = false;
  devices_.clear();
  also_addressed_.clear();
  auto path = std::filesystem::path(options_.database_directory) / kKeysFile;
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(path.string() + suffix, ec);
  store_->ErasePrefix("e2ee_");
}

void ClientCore::PublishKeys(std::function<void()> then) {
  if (!e2ee_) return then();
  if (keys_lost_) {
    // A new identity is a new device: the old one goes first. Until the
    // server says it went, this device sends nothing encrypted.
    return Call({{"type", "keys.remove"}}, [this, then = std::move(then)](const ReplyFrame& r) {
      if (!e2ee_ || !keys_lost_ || !ready_ || (!r.ok && r.code != "not_found")) return then();
      keys_lost_ = false;
      store_->ErasePrefix("e2ee_");
      PublishKeys(then);
    });
  }
  Call({{"type", "keys.count"}}, [this, then = std::move(then)](const ReplyFrame& reply) {
    if (!e2ee_) return then();
    if (reply.ok && reply.data.is_object()) {
      device_id_ = Int(reply.data.as_object(), "device_id");
      store_->Put("e2ee_device_id", std::to_string(device_id_));
      // (Its publish's answer may have been lost: the identity it was made with is this one.)
      if (!store_->Get("e2ee_identity")) store_->Put("e2ee_identity", auth::Base64UrlEncode(e2ee_->IdentityKey()));
      store_->Put("e2ee_known_user:" + std::to_string(user_id_), "1");
      if (Int(reply.data.as_object(), "prekeys") < kTopUpBelow) PublishMorePreKeys();
      if (NowMs() - KvInt("e2ee_signed_at", 0) > kSignedPreKeyDays * 86'400'000) RenewSignedPreKey();
      return then();
    }
    if (reply.code != "not_found") return then();  // the sends wait for the next connection
    // This session has no device yet: its first publish makes it.
    uint32_t signed_id = static_cast<uint32_t>(KvInt("e2ee_signed_id", 0) + 1);
    uint32_t first = static_cast<uint32_t>(KvInt("e2ee_next_prekey", 1));
    auto keys = e2ee_->FirstKeys(signed_id, first, kPreKeysPerPublish);
    if (!keys.ok()) {
      Emit({{"@type", "error"}, {"code", "internal"}, {"message", "end-to-end keys: " + keys.error().message}});
      return then();
    }
    // Ids only grow (the server skips one it saw), also when this publish is lost.
    store_->Put("e2ee_next_prekey", std::to_string(first + kPreKeysPerPublish));
    Json req = std::move(*keys);
    req["type"] = "keys.publish";
    Call(std::move(req), [this, signed_id, then](const ReplyFrame& r) {
      if (r.ok && r.data.is_object() && e2ee_) {
        device_id_ = Int(r.data.as_object(), "device_id");
        store_->Put("e2ee_device_id", std::to_string(device_id_));
        store_->Put("e2ee_identity", auth::Base64UrlEncode(e2ee_->IdentityKey()));
        store_->Put("e2ee_published_at", std::to_string(NowMs()));
        // My own account is someone this device knows: a device added to it is news.
        store_->Put("e2ee_known_user:" + std::to_string(user_id_), "1");
        store_->Put("e2ee_signed_id", std::to_string(signed_id));
        store_->Put("e2ee_signed_at", std::to_string(NowMs()));
        Emit({{"@type", "keys_published"}, {"device_id", device_id_}});
      } else if (!r.ok) {
        Emit({{"@type", "error"}, {"code", r.code}, {"message", "publishing end-to-end keys: " + r.message}});
      }
      then();
    });
  });
}

void ClientCore::RenewSignedPreKey() {
  uint32_t id = static_cast<uint32_t>(KvInt("e2ee_signed_id", 0) + 1);
  auto renewed = e2ee_->RenewSignedPreKey(id);
  if (!renewed.ok()) return;
  Json req = std::move(*renewed);
  req["type"] = "keys.publish";
  Call(std::move(req), [this, id](const ReplyFrame& r) {
    if (!r.ok) return;
    store_->Put("e2ee_signed_id", std::to_string(id));
    store_->Put("e2ee_signed_at", std::to_string(NowMs()));
  });
}

void ClientCore::PublishMorePreKeys() {
  if (!e2ee_ || device_id_ == 0) return;
  uint32_t first = static_cast<uint32_t>(KvInt("e2ee_next_prekey", 1));
  auto more = e2ee_->MorePreKeys(first, kPreKeysPerPublish);
  if (!more.ok()) return;
  store_->Put("e2ee_next_prekey", std::to_string(first + kPreKeysPerPublish));
  Json req = std::move(*more);
  req["type"] = "keys.publish";
  Call(std::move(req), [](const ReplyFrame&) {});
}

void ClientCore::NoteDevices(const Json& fields) {
  int64_t user = Int(fields, "user_id");
  const auto* list = fields.if_contains("devices");
  if (user <= 0 || !list || !list->is_array()) return;
  std::set<int64_t> ids;
  for (const auto& d : list->get_array()) {
    if (d.is_int64()) ids.insert(d.get_int64());
    if (d.is_object()) ids.insert(Int(d.get_object(), "device_id"));
  }
  devices_[user] = std::move(ids);
}

void ClientCore::GetSafetyNumber(const Json& req) {
  if (!ready_) return Fail(req, "unavailable", "offline; try again when connected");
  if (!e2ee_) return Fail(req, "bad_request", "end-to-end encryption is off on this device: " + e2ee_why_);
  int64_t them = Int(req, "user_id");
  if (them <= 0 || them == user_id_) return Fail(req, "bad_request", "user_id must be another user's");
  CallAll({{{"type", "devices.list"}, {"user_id", user_id_}}, {{"type", "devices.list"}, {"user_id", them}}},
          [this, req, them](std::vector<ReplyFrame> replies) {
            if (!e2ee_) return Fail(req, "unavailable", "signed out meanwhile");
            std::vector<std::string> keys[2];
            bool listed_self = false;
            for (int i = 0; i < 2; ++i) {
              if (!replies[i].ok) return Fail(req, replies[i].code, replies[i].message);
              const auto* data = replies[i].data.if_object();
              const auto* list = data ? data->if_contains("devices") : nullptr;
              if (!list || !list->is_array()) return Fail(req, "bad_frame", "a malformed answer to devices.list");
              NoteDevices(*data);
              for (const auto& d : list->get_array()) {
                const auto* device = d.if_object();
                auto key = device ? auth::Base64UrlDecode(Str(*device, "identity_key")) : std::nullopt;
                if (!key) return Fail(req, "bad_frame", "a device without its identity key");
                // The number must be of the keys this device encrypts to, not
                // of what the server says now: its own, and those its
                // sessions were started with.
                DeviceRef ref{i == 0 ? user_id_ : them, Int(*device, "device_id")};
                auto known =
                    ref == Self() ? std::optional<std::string>(e2ee_->IdentityKey()) : e2ee_->KnownIdentity(ref);
                if (known && *known != *key) {
                  Emit({{"@type", "identity_changed"},
                        {"user_id", ref.user_id},
                        {"device_id", ref.device_id},
                        {"reason", "identity_key_changed"}});
                  return Fail(req, "forbidden",
                              "the server lists device " + DeviceName(ref) +
                                  " with another identity key than the one this device knows");
                }
                listed_self |= ref == Self();
                keys[i].push_back(*key);
              }
            }
            if (!listed_self) return Fail(req, "forbidden", "the server does not list this device among yours");
            if (keys[1].empty()) return Fail(req, "not_found", "that user has no devices with keys");
            auto number = e2ee_->SafetyNumber(user_id_, keys[0], them, keys[1]);
            if (!number.ok()) {
              return Fail(req, std::string(ErrorCodeName(number.error().code)), number.error().message);
            }
            Answer(req, {{"user_id", them}, {"safety_number", *number}});
          });
}

}  // namespace natter::client
