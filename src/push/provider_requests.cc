#include "push/provider_requests.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>

#include "common/json_lookup.h"

namespace natter::push {

namespace json = boost::json;
using json_lookup::Str;

namespace {

std::chrono::seconds RetryAfter(std::string_view header) {
  int64_t seconds = 0;
  auto [end, ec] = std::from_chars(header.data(), header.data() + header.size(), seconds);
  // Only delta-seconds (an HTTP date is taken as "not said"); at most a day.
  if (ec != std::errc() || end != header.data() + header.size() || seconds < 0) return std::chrono::seconds(0);
  return std::chrono::seconds(std::min<int64_t>(seconds, 86'400));
}

json::object Parse(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  return !ec && v.is_object() ? v.as_object() : json::object{};
}

}  // namespace

std::string CollapseId(int64_t conversation_id) { return "c" + std::to_string(conversation_id); }

ApnsRequest BuildApnsRequest(const Notification& n, std::string_view device_token, std::string_view topic) {
  ApnsRequest r;
  r.path = "/3/device/" + std::string(device_token);
  json::object aps{{"badge", n.badge}};
  bool alert = n.kind == Notification::Kind::kAlert;
  if (alert) {
    json::object text{{"body", n.body}};
    if (!n.title.empty()) text["title"] = n.title;
    aps["alert"] = std::move(text);
    aps["sound"] = "default";
    aps["thread-id"] = CollapseId(n.conversation_id);  // grouped by conversation
  } else {
    aps["content-available"] = 1;  // the app wakes in the background to update or clear
  }
  json::object natter{{"conversation_id", n.conversation_id}, {"seq", n.seq}};
  if (n.kind == Notification::Kind::kClear) natter["clear"] = true;
  r.body = json::serialize(json::object{{"aps", std::move(aps)}, {"natter", std::move(natter)}});
  r.headers = {{"apns-topic", std::string(topic)},
               {"apns-push-type", alert ? "alert" : "background"},
               // Apple requires 5 for background pushes; 10 delivers an alert at once.
               {"apns-priority", alert ? "10" : "5"},
               {"apns-expiration", std::to_string(n.expires_at)},
               {"apns-collapse-id", CollapseId(n.conversation_id)}};
  return r;
}

std::string BuildFcmMessage(const Notification& n, std::string_view registration_token) {
  bool alert = n.kind == Notification::Kind::kAlert;
  // Data values are strings in FCM.
  json::object data{{"conversation_id", std::to_string(n.conversation_id)},
                    {"seq", std::to_string(n.seq)},
                    {"badge", std::to_string(n.badge)},
                    {"kind", alert                                  ? "message"
                             : n.kind == Notification::Kind::kClear ? "clear"
                                                                    : "badge"}};
  json::object android{{"priority", alert ? "HIGH" : "NORMAL"}, {"collapse_key", CollapseId(n.conversation_id)}};
  if (n.expires_at > 0) {
    auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
    android["ttl"] = std::to_string(std::max<int64_t>(0, n.expires_at - now.count())) + "s";
  }
  json::object message{{"token", registration_token}, {"data", std::move(data)}};
  if (alert) {
    json::object text{{"body", n.body}};
    if (!n.title.empty()) text["title"] = n.title;
    message["notification"] = std::move(text);
    android["notification"] = json::object{{"tag", CollapseId(n.conversation_id)}, {"notification_count", n.badge}};
  }
  message["android"] = std::move(android);
  return json::serialize(json::object{{"message", std::move(message)}});
}

Verdict ReadApnsAnswer(int status, std::string_view body, std::string_view retry_after) {
  using Next = Verdict::Next;
  if (status == 200) return {Next::kSent, "", {}};
  std::string reason = Str(Parse(body), "reason");
  Verdict v{Next::kFail, reason.empty() ? "HTTP " + std::to_string(status) : reason, RetryAfter(retry_after)};
  if (status == 410 || reason == "BadDeviceToken" || reason == "DeviceTokenNotForTopic" || reason == "Unregistered") {
    v.next = Next::kDropDevice;
  } else if (status == 403 && (reason == "ExpiredProviderToken" || reason == "InvalidProviderToken")) {
    v.next = Next::kRenewAuth;
  } else if (status == 429 || status >= 500) {
    v.next = Next::kRetry;  // TooManyRequests, InternalServerError, ServiceUnavailable, Shutdown
  }
  return v;
}

Verdict ReadFcmAnswer(int status, std::string_view body, std::string_view retry_after) {
  using Next = Verdict::Next;
  if (status == 200) return {Next::kSent, "", {}};
  json::object answer = Parse(body);
  const json::value* error = answer.if_contains("error");
  json::object e = error && error->is_object() ? error->as_object() : json::object{};
  // The FCM reason is in the FcmError detail; other details (BadRequest) are
  // about the message itself, not the device token.
  std::string code;
  if (const auto* details = e.if_contains("details"); details && details->is_array()) {
    for (const auto& d : details->as_array()) {
      if (d.is_object() && Str(d.as_object(), "@type") == "type.googleapis.com/google.firebase.fcm.v1.FcmError") {
        code = Str(d.as_object(), "errorCode");
      }
    }
  }
  std::string reason = !code.empty()               ? code
                       : !Str(e, "status").empty() ? Str(e, "status")
                                                   : "HTTP " + std::to_string(status);
  Verdict v{Next::kFail, reason, RetryAfter(retry_after)};
  if (code == "UNREGISTERED" || code == "INVALID_ARGUMENT" || code == "SENDER_ID_MISMATCH") {
    v.next = Next::kDropDevice;
  } else if (status == 401 && code != "THIRD_PARTY_AUTH_ERROR") {
    v.next = Next::kRenewAuth;  // our access token expired or was revoked
  } else if (status == 429 || status >= 500) {
    v.next = Next::kRetry;  // QUOTA_EXCEEDED, UNAVAILABLE, INTERNAL
  }
  return v;
}

}  // namespace natter::push
