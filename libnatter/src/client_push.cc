// ClientCore's push requests: the app registers the token its platform gave
// it once; the client keeps it in the local store and registers it again on
// every connection (a token registered offline goes out later, and a server
// that lost it gets it back). Reading a push payload needs no connection.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "client_core.h"
#include "common/json_lookup.h"
#include "push_payload.h"

namespace natter::client {

using json_lookup::Str;

namespace {

constexpr const char* kDeviceKey = "push_device";          // the registration to keep
constexpr const char* kUnregisterKey = "push_unregister";  // an unregister not yet told

}  // namespace

void ClientCore::RegisterPushToken(const Json& req) {
  Json device{{"platform", Str(req, "platform")}, {"token", Str(req, "token")}};
  if (Str(device, "platform").empty() || Str(device, "token").empty()) {
    return Fail(req, "bad_request", "register_push_token needs platform and token");
  }
  for (const char* key : {"topic", "environment", "locale"}) {
    if (auto* v = req.if_contains(key); v && v->is_string()) device[key] = *v;
  }
  store_->Put(kDeviceKey, boost::json::serialize(device));
  store_->Erase(kUnregisterKey);
  if (!ready_) return Answer(req, {{"state", "pending"}});
  Json call = device;
  call["type"] = "push.register";
  Call(std::move(call), [this, req](const ReplyFrame& reply) {
    if (!reply.ok) {
      if (reply.code == "bad_request") store_->Erase(kDeviceKey);  // never valid: not sent again
      return Fail(req, reply.code, reply.message);
    }
    Json answer = reply.data.is_object() ? reply.data.get_object() : Json{};
    answer["state"] = "registered";
    Answer(req, std::move(answer));
  });
}

void ClientCore::UnregisterPushToken(const Json& req) {
  store_->Erase(kDeviceKey);
  store_->Put(kUnregisterKey, "1");
  if (!ready_) return Answer(req, {{"state", "pending"}});
  Call({{"type", "push.unregister"}}, [this, req](const ReplyFrame& reply) {
    if (!reply.ok) return Fail(req, reply.code, reply.message);
    store_->Erase(kUnregisterKey);
    Answer(req, {{"state", "unregistered"}});
  });
}

void ClientCore::SyncPushRegistration() {
  if (store_->Get(kUnregisterKey)) {
    Call({{"type", "push.unregister"}}, [this](const ReplyFrame& reply) {
      if (reply.ok) store_->Erase(kUnregisterKey);
    });
  }
  auto saved = store_->Get(kDeviceKey);
  if (!saved) return;
  boost::system::error_code ec;
  auto device = boost::json::parse(*saved, ec);
  if (ec || !device.is_object()) return store_->Erase(kDeviceKey);
  Json call = device.get_object();
  call["type"] = "push.register";
  Call(std::move(call), [this](const ReplyFrame& reply) {
    if (reply.ok || reply.code != "bad_request") return;
    store_->Erase(kDeviceKey);
    Emit({{"@type", "error"}, {"request", "register_push_token"}, {"code", reply.code}, {"message", reply.message}});
  });
}

void ClientCore::ReadPush(const Json& req) {
  const auto* payload = req.if_contains("payload");
  std::string text = !payload               ? std::string()
                     : payload->is_string() ? std::string(payload->get_string())
                                            : boost::json::serialize(*payload);
  std::string why;
  auto target = ReadPushPayload(text, why);
  if (!target) return Fail(req, "bad_request", why);
  Answer(req, ToJson(*target));
}

}  // namespace natter::client
