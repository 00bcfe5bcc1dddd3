// End-to-end encrypted conversations in the client core (docs/e2ee.md): the
// device's keys published and topped up, sends, edits and reactions sealed
// for every device of the members, entries opened as they arrive. The
// cryptography is EndToEnd's (end_to_end.h); this file is the protocol
// around it: which devices, which sessions, what to do when the server says
// the device list is stale.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
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
constexpr int kStaleRetries = 3;
// The keys' file in the profile's directory, next to the local store.
constexpr const char* kKeysFile = "keys.db";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t KvInt(LocalStore& store, const std::string& key, int64_t fallback) {
  auto v = store.Get(key);
  return v ? std::stoll(*v) : fallback;
}

ReplyFrame Refusal(const std::string& code, const std::string& message) {
  ReplyFrame f;
  f.code = code;
  f.message = message;
  return f;
}

// Marks "this device has my sender key for that group", kept per device so
// that a new session with the device (it lost its state, or mine) drops them
// all: the key goes again with the next message to each group.
std::string GivenKeys(const DeviceRef& d) {
  return "e2ee_given:" + std::to_string(d.user_id) + "." + std::to_string(d.device_id) + ":";
}
std::string GivenKey(int64_t conversation, const DeviceRef& d) { return GivenKeys(d) + std::to_string(conversation); }

constexpr int64_t kPreKeyMessage = 3;  // a ciphertext that starts a session

// The type of the envelope addressed to `me` in an entry's `encrypted`; 0: none.
int64_t MyEnvelopeType(const json::object& sealed, const DeviceRef& me) {
  if (me.device_id == 0) return 0;
  if (const auto* list = sealed.if_contains("envelopes"); list && list->is_array()) {
    for (const auto& e : list->get_array()) {
      const auto* o = e.if_object();
      if (o && Int(*o, "user_id") == me.user_id && Int(*o, "device_id") == me.device_id) return Int(*o, "type", -1);
    }
  }
  return 0;
}

}  // namespace

void ClientCore::OpenKeys() {
  e2ee_.reset();
  if (options_.device_key.empty()) {
    e2ee_why_ = "no device_key was given to this client";
    return;
  }
  auto path = std::filesystem::path(options_.database_directory) / kKeysFile;
  e2ee_ = OpenEndToEnd(path.string(), options_.device_key, e2ee_why_);
  if (auto id = store_->Get("e2ee_device_id")) device_id_ = std::stoll(*id);
  if (!e2ee_ && !options_.device_key.empty()) {
    Emit({{"@type", "error"}, {"code", "forbidden"}, {"message", "end-to-end encryption keys: " + e2ee_why_}});
  }
}

void ClientCore::ForgetKeys() {
  e2ee_.reset();
  device_id_ = 0;
  devices_.clear();
  also_addressed_.clear();
  auto path = std::filesystem::path(options_.database_directory) / kKeysFile;
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(path.string() + suffix, ec);
  for (const char* key : {"e2ee_device_id", "e2ee_next_prekey", "e2ee_signed_id", "e2ee_signed_at"}) {
    store_->Erase(key);
  }
}

void ClientCore::PublishKeys(std::function<void()> then) {
  if (!e2ee_) return then();
  Call({{"type", "keys.count"}}, [this, then = std::move(then)](const ReplyFrame& reply) {
    if (!e2ee_) return then();
    if (reply.ok && reply.data.is_object()) {
      device_id_ = Int(reply.data.as_object(), "device_id");
      store_->Put("e2ee_device_id", std::to_string(device_id_));
      if (Int(reply.data.as_object(), "prekeys") < kTopUpBelow) PublishMorePreKeys();
      if (NowMs() - KvInt(*store_, "e2ee_signed_at", 0) > kSignedPreKeyDays * 86'400'000) {
        uint32_t id = static_cast<uint32_t>(KvInt(*store_, "e2ee_signed_id", 0) + 1);
        auto renewed = e2ee_->RenewSignedPreKey(id);
        if (renewed.ok()) {
          Json req = std::move(*renewed);
          req["type"] = "keys.publish";
          Call(std::move(req), [this, id](const ReplyFrame& r) {
            if (!r.ok) return;
            store_->Put("e2ee_signed_id", std::to_string(id));
            store_->Put("e2ee_signed_at", std::to_string(NowMs()));
          });
        }
      }
      return then();
    }
    if (reply.code != "not_found") return then();  // the sends wait for the next connection
    // This session has no device yet: its first publish makes it.
    uint32_t signed_id = static_cast<uint32_t>(KvInt(*store_, "e2ee_signed_id", 0) + 1);
    uint32_t first = static_cast<uint32_t>(KvInt(*store_, "e2ee_next_prekey", 1));
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
      if (r.ok && r.data.is_object()) {
        device_id_ = Int(r.data.as_object(), "device_id");
        store_->Put("e2ee_device_id", std::to_string(device_id_));
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

void ClientCore::PublishMorePreKeys() {
  if (!e2ee_ || device_id_ == 0) return;
  uint32_t first = static_cast<uint32_t>(KvInt(*store_, "e2ee_next_prekey", 1));
  auto more = e2ee_->MorePreKeys(first, kPreKeysPerPublish);
  if (!more.ok()) return;
  store_->Put("e2ee_next_prekey", std::to_string(first + kPreKeysPerPublish));
  Json req = std::move(*more);
  req["type"] = "keys.publish";
  Call(std::move(req), [](const ReplyFrame&) {});
}

void ClientCore::CallAll(std::vector<Json> requests, std::function<void(std::vector<ReplyFrame>)> then) {
  if (requests.empty()) return then({});
  struct Join {
    std::vector<ReplyFrame> replies;
    size_t left;
    std::function<void(std::vector<ReplyFrame>)> then;
  };
  auto join = std::make_shared<Join>(Join{std::vector<ReplyFrame>(requests.size()), requests.size(), std::move(then)});
  for (size_t i = 0; i < requests.size(); ++i) {
    Call(std::move(requests[i]), [join, i](const ReplyFrame& r) {
      join->replies[i] = r;
      if (--join->left == 0) join->then(std::move(join->replies));
    });
  }
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

void ClientCore::WithDevices(const std::set<int64_t>& users, std::function<void()> then) {
  std::vector<Json> calls;
  std::vector<int64_t> asked;
  for (int64_t u : users) {
    if (devices_.count(u)) continue;
    calls.push_back({{"type", "devices.list"}, {"user_id", u}});
    asked.push_back(u);
  }
  CallAll(std::move(calls), [this, asked, then = std::move(then)](std::vector<ReplyFrame> replies) {
    for (size_t i = 0; i < replies.size(); ++i) {
      if (replies[i].ok && replies[i].data.is_object()) {
        NoteDevices(replies[i].data.as_object());
      } else if (replies[i].code == "not_found") {
        devices_[asked[i]] = {};  // no such user here, or one who blocked me: nobody to address
      }
    }
    then();
  });
}

void ClientCore::WithSessions(const std::vector<DeviceRef>& devices,
                              std::function<void(std::optional<ReplyFrame>)> then) {
  std::vector<Json> calls;
  std::vector<DeviceRef> claimed;
  for (const auto& d : devices) {
    if (e2ee_->HasSession(d)) continue;
    calls.push_back({{"type", "keys.bundle"}, {"user_id", d.user_id}, {"device_id", d.device_id}});
    claimed.push_back(d);
  }
  CallAll(std::move(calls), [this, claimed, then = std::move(then)](std::vector<ReplyFrame> replies) {
    if (!e2ee_) return then(Refusal("unavailable", "signed out meanwhile"));
    std::optional<ReplyFrame> failure;
    for (size_t i = 0; i < replies.size(); ++i) {
      const DeviceRef& d = claimed[i];
      if (!replies[i].ok) {
        // A device gone meanwhile is left out; the server's answer to the
        // send names who is there now.
        if (replies[i].code == "not_found")
          devices_[d.user_id].erase(d.device_id);
        else if (!failure)
          failure = replies[i];
        continue;
      }
      const json::object* device = nullptr;
      if (const auto* data = replies[i].data.if_object()) {
        if (const auto* list = data->if_contains("devices"); list && list->is_array() && !list->get_array().empty()) {
          device = list->get_array()[0].if_object();
        }
      }
      if (!device || Int(*device, "device_id") != d.device_id) {
        if (!failure) failure = Refusal("bad_frame", "a keys.bundle answer without the device asked for");
        continue;
      }
      // Another device of someone this device already talks to: their
      // safety number changed (a new phone, or someone else's key).
      bool known_user = false;
      for (int64_t other : devices_[d.user_id]) {
        known_user |= other != d.device_id && e2ee_->HasSession({d.user_id, other});
      }
      auto started = e2ee_->StartSession(d.user_id, *device);
      if (!started.ok()) {
        std::string code(ErrorCodeName(started.error().code));
        if (code == "forbidden") {
          Emit({{"@type", "identity_changed"},
                {"user_id", d.user_id},
                {"device_id", d.device_id},
                {"reason", "identity_key_changed"}});
        }
        if (!failure)
          failure = Refusal(code, "device " + std::to_string(d.device_id) + " of user " + std::to_string(d.user_id) +
                                      ": " + started.error().message);
        continue;
      }
      store_->ErasePrefix(GivenKeys(d));
      if (known_user && d.user_id != user_id_) {
        Emit({{"@type", "identity_changed"},
              {"user_id", d.user_id},
              {"device_id", d.device_id},
              {"reason", "new_device"}});
      }
    }
    then(failure);
  });
}

void ClientCore::SealedCall(Json request, std::string content, int round, ServerReply reply) {
  if (!e2ee_) return reply(Refusal("bad_request", "end-to-end encryption is off on this device: " + e2ee_why_));
  if (device_id_ == 0) return reply(Refusal("unavailable", "this device's keys are not published yet"));
  int64_t conv = Int(request, "conversation_id");
  std::set<int64_t> users = also_addressed_[conv];
  for (const auto& m : store_->Members(conv)) users.insert(Int(m.as_object(), "user_id"));
  users.insert(user_id_);  // my other devices read it too
  bool group = users.size() > 2 || store_->Kind(conv) != "direct";
  WithDevices(users, [this, request = std::move(request), content = std::move(content), round, reply, users, group,
                      conv]() mutable {
    std::vector<DeviceRef> to;
    for (int64_t u : users) {
      for (int64_t d : devices_[u]) {
        if (DeviceRef{u, d} != Self()) to.push_back({u, d});
      }
    }
    WithSessions(to, [this, request = std::move(request), content = std::move(content), round, reply, to, group,
                      conv](std::optional<ReplyFrame> failure) mutable {
      if (failure) return reply(*failure);
      std::set<DeviceRef> needs_key;
      if (group) {
        for (const auto& d : to) {
          if (!store_->Get(GivenKey(conv, d))) needs_key.insert(d);
        }
      }
      auto sealed = e2ee_->Encrypt(std::to_string(conv), group, Self(), to, needs_key, content);
      if (!sealed.ok()) return reply(Refusal(std::string(ErrorCodeName(sealed.error().code)), sealed.error().message));
      Json call = request;
      call["encrypted"] = std::move(*sealed);
      Call(std::move(call), [this, request = std::move(request), content = std::move(content), round, reply, needs_key,
                             conv](const ReplyFrame& r) mutable {
        if (!r.ok && r.code == "stale_devices" && round < kStaleRetries) {
          // The server's lists win: new devices get sessions, gone ones are dropped.
          if (const auto* details = r.details.if_object()) {
            if (const auto* list = details->if_contains("devices"); list && list->is_array()) {
              for (const auto& u : list->get_array()) {
                if (!u.is_object()) continue;
                int64_t user = Int(u.get_object(), "user_id");
                std::set<int64_t> ids;
                if (const auto* d = u.get_object().if_contains("device_ids"); d && d->is_array()) {
                  for (const auto& id : d->get_array()) {
                    if (id.is_int64()) ids.insert(id.get_int64());
                  }
                }
                if (user == user_id_) ids.erase(device_id_);
                devices_[user] = ids;
                if (!ids.empty()) also_addressed_[conv].insert(user);
              }
            }
          }
          return SealedCall(std::move(request), std::move(content), round + 1, std::move(reply));
        }
        if (r.ok) {
          for (const auto& d : needs_key) store_->Put(GivenKey(conv, d), "1");
        }
        reply(r);
      });
    });
  });
}

void ClientCore::SealedForward(const Json& req, const std::string& method) {
  if (!ready_) return Fail(req, "unavailable", "offline; try again when connected");
  Json content;
  Json call{{"type", method}, {"conversation_id", Int(req, "conversation_id")}, {"seq", Int(req, "seq")}};
  // A reaction's text is its emoji, "" when taken back, as in plain conversations.
  content["text"] = Str(req, method == "messages.edit" ? "text" : "emoji");
  SealedCall(std::move(call), json::serialize(content), 0, [this, req, method, content](const ReplyFrame& reply) {
    if (!reply.ok) return Fail(req, reply.code, reply.message);
    std::string why;
    auto entry = DecodeEntry(reply.data, why);
    if (!entry) return Fail(req, "bad_frame", "a malformed answer to " + method + ": " + why);
    // Sent from here: this device knows what it said (it has no envelope of its own).
    entry->fields["encrypted"] = true;
    for (const auto& [k, v] : content) entry->fields[k] = v;
    ApplyEntry(*entry, false);
    Answer(req, entry->fields);
  });
}

Entry ClientCore::Opened(const Entry& entry, bool live, bool from_history) {
  bool tell_failure = !from_history;
  Entry out = entry;
  json::object& f = out.fields;
  json::object sealed = f["encrypted"].as_object();
  f["encrypted"] = true;
  auto take = [&f](const json::object& from) {
    for (const char* k : {"text", "undecryptable"}) {
      if (const auto* v = from.if_contains(k)) f[k] = *v;
    }
  };
  // A ciphertext decrypts once: seen before (live, then in a sync), it is what it was then.
  if (auto known = store_->FindEntry(entry.conversation_id, entry.seq); known && known->contains("encrypted")) {
    take(*known);
    return out;
  }
  if (entry.sender_id == user_id_ && Int(sealed, "device_id") == device_id_ && device_id_ != 0) {
    // Sent from this device, which has no envelope of its own: the outbox says what.
    auto sent = entry.client_msg_id.empty() ? std::nullopt : store_->FindOutbox(entry.client_msg_id);
    if (sent && entry.kind == "message")
      f["text"] = sent->text;
    else
      f["undecryptable"] = "sent_from_this_device";
    return out;
  }
  if (!e2ee_) {
    f["undecryptable"] = "no_keys";
    return out;
  }
  bool mine = MyEnvelopeType(sealed, Self()) != 0;
  if (!mine && Str(sealed, "body").empty()) {
    // Sent before this device existed, or to another of my devices only.
    f["undecryptable"] = "not_for_this_device";
    return out;
  }
  auto content = e2ee_->Decrypt(std::to_string(entry.conversation_id), entry.sender_id, Self(), sealed);
  std::optional<json::object> fields;
  std::string code = "bad_request", message = "the decrypted content is not {\"text\": ...}";
  if (content.ok()) {
    boost::system::error_code ec;
    json::value v = json::parse(*content, ec);
    if (!ec && v.is_object() && v.as_object().if_contains("text") && v.as_object().at("text").is_string()) {
      fields = json::object{{"text", v.as_object().at("text")}};
    }
  } else {
    code = ErrorCodeName(content.error().code);
    message = content.error().message;
  }
  if (fields) {
    take(*fields);
    f.erase("undecryptable");
    // A session the sender's device started anew (it lost its state, or
    // answers a failure of ours): it has none of my sender keys any more.
    if (mine && MyEnvelopeType(sealed, Self()) == kPreKeyMessage) {
      store_->ErasePrefix(GivenKeys({entry.sender_id, Int(sealed, "device_id")}));
    }
    return out;
  }
  if (!mine && code == "not_found") {
    // A group message whose sender never gave this device its key: sent
    // before this device existed (history, a first catch-up), or the
    // message that carried the key was lost. Live, it was meant for this
    // device, so that is a failure to repair.
    code = "not_for_this_device";
    if (!live) {
      f["undecryptable"] = code;
      return out;
    }
  }
  f["undecryptable"] = code;
  if (code != "conflict" && code != "unavailable") {
    // The session with that device is broken (or never was): the next
    // message this device sends it starts a new one, which repairs it.
    // My sender keys go again too, so that even a group message starts it.
    DeviceRef sender{entry.sender_id, Int(sealed, "device_id")};
    e2ee_->EndSession(sender);
    store_->ErasePrefix(GivenKeys(sender));
  }
  if (tell_failure) {
    Emit({{"@type", "decryption_failed"},
          {"conversation_id", entry.conversation_id},
          {"seq", entry.seq},
          {"sender_id", entry.sender_id},
          {"device_id", Int(sealed, "device_id")},
          {"code", code},
          {"message", message}});
  }
  return out;
}

void ClientCore::GetSafetyNumber(const Json& req) {
  if (!ready_) return Fail(req, "unavailable", "offline; try again when connected");
  if (!e2ee_) return Fail(req, "bad_request", "end-to-end encryption is off on this device: " + e2ee_why_);
  int64_t them = Int(req, "user_id");
  if (them <= 0 || them == user_id_) return Fail(req, "bad_request", "user_id must be another user's");
  CallAll({{{"type", "devices.list"}, {"user_id", user_id_}}, {{"type", "devices.list"}, {"user_id", them}}},
          [this, req, them](std::vector<ReplyFrame> replies) {
            std::vector<std::string> keys[2];
            for (int i = 0; i < 2; ++i) {
              if (!replies[i].ok) return Fail(req, replies[i].code, replies[i].message);
              const auto* data = replies[i].data.if_object();
              const auto* list = data ? data->if_contains("devices") : nullptr;
              if (!list || !list->is_array()) return Fail(req, "bad_frame", "a malformed answer to devices.list");
              NoteDevices(*data);
              for (const auto& d : list->get_array()) {
                auto key = d.is_object() ? auth::Base64UrlDecode(Str(d.get_object(), "identity_key")) : std::nullopt;
                if (!key) return Fail(req, "bad_frame", "a device without its identity key");
                keys[i].push_back(*key);
              }
            }
            if (keys[1].empty()) return Fail(req, "not_found", "that user has no devices with keys");
            auto number = e2ee_->SafetyNumber(user_id_, keys[0], them, keys[1]);
            if (!number.ok()) {
              return Fail(req, std::string(ErrorCodeName(number.error().code)), number.error().message);
            }
            Answer(req, {{"user_id", them}, {"safety_number", *number}});
          });
}

}  // namespace natter::client
