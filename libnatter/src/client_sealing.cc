// Encrypted sends, edits and reactions in the client core (docs/e2ee.md):
// the content sealed for every device of every member, after the device
// lists this client lacks are fetched and sessions started with the devices
// it has none with; a stale list is taken from the server's answer and the
// request sent again. One request is sealed at a time, in order, so two
// sends never claim a bundle for the same device.
#include <boost/asio/post.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <filesystem>

#include "attachment_cipher.h"
#include "auth/base64url.h"
#include "client_core.h"
#include "common/json_lookup.h"

namespace natter::client {

namespace json = boost::json;
using json_lookup::Int;
using json_lookup::Str;

namespace {

constexpr int kStaleRetries = 3;

ReplyFrame Refusal(const std::string& code, const std::string& message) {
  ReplyFrame f;
  f.code = code;
  f.message = message;
  return f;
}

}  // namespace

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
        if (replies[i].code == "not_found") {
          devices_[d.user_id].erase(d.device_id);
        } else if (!failure) {
          failure = replies[i];
        }
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
      bool identity_known = e2ee_->KnownIdentity(d).has_value();
      auto started = e2ee_->StartSession(d.user_id, *device);
      if (!started.ok()) {
        std::string code(ErrorCodeName(started.error().code));
        if (code == "forbidden") {
          Emit({{"@type", "identity_changed"},
                {"user_id", d.user_id},
                {"device_id", d.device_id},
                {"reason", "identity_key_changed"}});
        }
        if (!failure) {
          failure = Refusal(code, "device " + std::to_string(d.device_id) + " of user " + std::to_string(d.user_id) +
                                      ": " + started.error().message);
        }
        continue;
      }
      ForgetGivenKeys(d);  // a new session: it has none of my sender keys
      MeetDevice(d, identity_known);
    }
    then(failure);
  });
}

namespace {
// The queue's turn, held by every step of one request: when the last step
// is gone (answered, or dropped by a handler that threw), the next request
// goes, after this handler (a queue of failures does not nest).
struct SealingTurn {
  explicit SealingTurn(std::function<void()> release) : release(std::move(release)) {}
  ~SealingTurn() { release(); }
  std::function<void()> release;
};
}  // namespace

void ClientCore::SealedCall(Json request, std::string content, ServerReply reply) {
  sealing_queue_.push_back([this, session = session_, request = std::move(request), content = std::move(content),
                            reply = std::move(reply)]() mutable {
    auto turn = std::make_shared<SealingTurn>([this] {
      sealing_ = false;
      boost::asio::post(ioc_, [this] { PumpSealing(); });
    });
    auto answered = std::make_shared<bool>(false);
    auto done = [turn, answered, reply = std::move(reply)](const ReplyFrame& r) {
      if (*answered) return;
      *answered = true;
      reply(r);
    };
    // Asked for by a session that is over (a logout, another login).
    if (session != session_) return done(Refusal("unavailable", "the session changed"));
    SealStep(std::move(request), std::move(content), 0, std::move(done));
  });
  PumpSealing();
}

void ClientCore::PumpSealing() {
  if (sealing_ || sealing_queue_.empty()) return;
  sealing_ = true;
  auto job = std::move(sealing_queue_.front());
  sealing_queue_.pop_front();
  job();
}

void ClientCore::SealStep(Json request, std::string content, int round, ServerReply done) {
  if (!e2ee_) return done(Refusal("bad_request", "end-to-end encryption is off on this device: " + e2ee_why_));
  if (!ready_ || !ws_) return done(Refusal("unavailable", "offline; sent when connected"));
  if (device_id_ == 0) return done(Refusal("unavailable", "this device's keys are not published yet"));
  // Every step waits for answers; a connection, a session or keys that
  // changed meanwhile end this try (an outbox entry is sent again on the next).
  auto lost = [this, session = session_, ws = ws_.get()] {
    return session != session_ || ws != ws_.get() || !ready_ || !e2ee_;
  };
  int64_t conv = Int(request, "conversation_id");
  std::set<int64_t> users = also_addressed_[conv];
  for (const auto& m : store_->Members(conv)) users.insert(Int(m.as_object(), "user_id"));
  users.insert(user_id_);  // my other devices read it too
  bool group = users.size() > 2 || store_->Kind(conv) != "direct";
  WithDevices(users, [this, request = std::move(request), content = std::move(content), round, done, users, group, conv,
                      lost]() mutable {
    if (lost()) return done(Refusal("unavailable", "the connection changed"));
    std::vector<DeviceRef> wanted;
    for (int64_t u : users) {
      for (int64_t d : devices_[u]) {
        if (DeviceRef{u, d} != Self()) wanted.push_back({u, d});
      }
    }
    WithSessions(wanted, [this, request = std::move(request), content = std::move(content), round, done, wanted, group,
                          conv, lost](std::optional<ReplyFrame> failure) mutable {
      if (lost()) return done(Refusal("unavailable", "the connection changed"));
      if (failure) return done(*failure);
      // Devices whose bundles were not found are left out: if they are
      // still there, the server's answer says so.
      std::vector<DeviceRef> to;
      std::set<DeviceRef> needs_key;
      std::vector<std::string> given;  // named now: a member who leaves meanwhile makes the key another
      for (const auto& d : wanted) {
        if (!devices_[d.user_id].count(d.device_id) || !e2ee_->HasSession(d)) continue;
        to.push_back(d);
        if (group && !store_->Get(GivenKey(conv, d))) {
          needs_key.insert(d);
          given.push_back(GivenKey(conv, d));
        }
      }
      auto sealed = e2ee_->Encrypt(OwnKeyGroup(conv), group, Self(), to, needs_key, content);
      if (!sealed.ok()) return done(Refusal(std::string(ErrorCodeName(sealed.error().code)), sealed.error().message));
      Json call = request;
      call["encrypted"] = std::move(*sealed);
      Call(std::move(call), [this, request = std::move(request), content = std::move(content), round, done, given, conv,
                             lost](const ReplyFrame& r) mutable {
        if (!r.ok && r.code == "stale_devices" && round < kStaleRetries && !lost()) {
          TakeDeviceLists(conv, r.details);
          return SealStep(std::move(request), std::move(content), round + 1, std::move(done));
        }
        // A retry answered with the message stored before carries the
        // envelopes of then, not these: nothing new was given.
        const auto* data = r.data.if_object();
        bool duplicate = data && json_lookup::Bool(*data, "duplicate");
        if (r.ok && !duplicate) {
          for (const auto& key : given) store_->Put(key, "1");
        }
        done(r);
      });
    });
  });
}

void ClientCore::TakeDeviceLists(int64_t conversation, const json::value& details) {
  // The server's lists win: new devices get sessions, gone ones are dropped.
  const auto* d = details.if_object();
  const auto* list = d ? d->if_contains("devices") : nullptr;
  if (!list || !list->is_array()) return;
  for (const auto& u : list->get_array()) {
    if (!u.is_object()) continue;
    int64_t user = Int(u.get_object(), "user_id");
    if (user <= 0) continue;
    std::set<int64_t> ids;
    if (const auto* given = u.get_object().if_contains("device_ids"); given && given->is_array()) {
      for (const auto& id : given->get_array()) {
        if (id.is_int64()) ids.insert(id.get_int64());
      }
    }
    if (user == user_id_) ids.erase(device_id_);
    devices_[user] = ids;
    // A member this client does not list (a large group's): addressed from now on.
    if (!ids.empty()) also_addressed_[conversation].insert(user);
  }
}

void ClientCore::SealedForward(const Json& req, const std::string& method) {
  if (!ready_) return Fail(req, "unavailable", "offline; try again when connected");
  int64_t conv = Int(req, "conversation_id"), seq = Int(req, "seq");
  Json call{{"type", method}, {"conversation_id", conv}, {"seq", seq}};
  // A reaction's text is its emoji, "" when taken back, as in plain conversations.
  bool edit = method == "messages.edit";
  std::string text = Str(req, edit ? "text" : "emoji");
  std::string content = SealContent({text, {}}, {conv, edit ? "edit" : "reaction", seq, std::nullopt});
  SealedCall(std::move(call), std::move(content), [this, req, method, text](const ReplyFrame& reply) {
    if (!reply.ok) return Fail(req, reply.code, reply.message);
    std::string why;
    auto entry = DecodeEntry(reply.data, why);
    if (!entry) return Fail(req, "bad_frame", "a malformed answer to " + method + ": " + why);
    // Sent from here: this device knows what it said (it has no envelope of its own).
    entry->fields["encrypted"] = true;
    entry->fields["text"] = text;
    ApplyOpened(*entry, false, false);
    Answer(req, entry->fields);
  });
}

bool ClientCore::SealFiles(OutboxEntry& e, std::string& why) {
  auto dir = std::filesystem::path(options_.database_directory) / "outgoing";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  for (auto& f : e.files) {
    if (f.thumb_of >= 0) {
      why = "a video's poster frame cannot go to an encrypted conversation (the server cannot make one either)";
      return false;
    }
    char name[40];
    snprintf(name, sizeof(name), "%016llx%016llx", static_cast<unsigned long long>(rng_()),
             static_cast<unsigned long long>(rng_()));
    std::string out = (dir / name).string();
    auto sealed = SealFile(f.path, out);
    if (!sealed.ok()) {
      why = f.path + ": " + sealed.error().message;
      return false;
    }
    f.sealed = json::serialize(json::object{{"key", auth::Base64UrlEncode(sealed->key)},
                                            {"digest", auth::Base64UrlEncode(sealed->digest)},
                                            {"mime", f.mime},
                                            {"filename", f.filename},
                                            {"size", sealed->size},
                                            {"caption", f.caption}});
    // What goes up says nothing of the file but its size.
    f.path = out;
    f.mime = "application/octet-stream";
    f.filename = "";
    f.caption = "";
    f.size = static_cast<int64_t>(std::filesystem::file_size(out, ec));
  }
  return true;
}

json::array ClientCore::SealedAttachments(const OutboxEntry& e) {
  json::array out;
  for (const auto& f : e.files) {
    if (f.sealed.empty()) continue;
    boost::system::error_code ec;
    json::value v = json::parse(f.sealed, ec);
    if (ec || !v.is_object()) continue;
    v.as_object()["media_id"] = f.media_id;
    out.push_back(std::move(v));
  }
  return out;
}

void ClientCore::DropSealedFiles(const OutboxEntry& e) {
  std::error_code ec;
  for (const auto& f : e.files) {
    if (!f.sealed.empty()) std::filesystem::remove(f.path, ec);
  }
}

}  // namespace natter::client
