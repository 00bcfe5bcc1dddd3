#include "push/provider_requests.h"

#include <algorithm>
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

// Both providers refuse a payload over 4 KB (and FCM then answers
// INVALID_ARGUMENT): a preview is cut at a UTF-8 boundary well below that.
constexpr size_t kMaxPreviewBytes = 1024;
std::string Preview(const std::string& text) {
  if (text.size() <= kMaxPreviewBytes) return text;
  size_t end = kMaxPreviewBytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;  // not inside a character
  return text.substr(0, end) + "\u2026";
}

// FCM keeps a message at most 28 days.
constexpr int64_t kMaxFcmTtlSeconds = 28 * 86'400;

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
  json::object aps;
  bool alert = n.kind == Notification::Kind::kAlert;
  // A badge is user-visible: Apple takes it as an alert push (without text or
  // sound); only a clear wakes the app in the background. A background push
  // holds content-available alone in aps (Apple's rule): its badge rides in
  // natter's part, for the app to set once it wakes.
  bool background = n.kind == Notification::Kind::kClear;
  if (!background) aps["badge"] = n.badge;
  if (alert) {
    json::object text{{"body", Preview(n.body)}};
    if (!n.title.empty()) text["title"] = Preview(n.title);
    aps["alert"] = std::move(text);
    aps["sound"] = "default";
    aps["thread-id"] = CollapseId(n.conversation_id);  // grouped by conversation
  } else if (background) {
    aps["content-available"] = 1;  // the app wakes to remove what it showed
  }
  json::object natter{{"conversation_id", n.conversation_id}, {"seq", n.seq}};
  if (background) {
    natter["clear"] = true;
    natter["badge"] = n.badge;
  }
  r.body = json::serialize(json::object{{"aps", std::move(aps)}, {"natter", std::move(natter)}});
  r.headers = {{"apns-topic", std::string(topic)},
               {"apns-push-type", background ? "background" : "alert"},
               // 10 delivers an alert at once; Apple requires 5 for background
               // pushes, and a silent badge can wait for the device's convenience.
               {"apns-priority", alert ? "10" : "5"},
               {"apns-collapse-id", CollapseId(n.conversation_id)}};
  // Without the header APNs stores the push until the device is reachable; 0
  // would mean "once, now, or never".
  if (n.expires_at > 0) r.headers.emplace_back("apns-expiration", std::to_string(n.expires_at));
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
    android["ttl"] = std::to_string(std::clamp<int64_t>(n.expires_at - now.count(), 0, kMaxFcmTtlSeconds)) + "s";
  }
  json::object message{{"token", registration_token}, {"data", std::move(data)}};
  if (alert) {
    json::object text{{"body", Preview(n.body)}};
    if (!n.title.empty()) text["title"] = Preview(n.title);
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
  // DeviceTokenNotForTopic (a wrong bundle id) and InvalidProviderToken (a
  // wrong key id or team) are the deployment's mistakes: fail, and keep the
  // tokens for when it is mended.
  if (status == 410 || reason == "BadDeviceToken" || reason == "Unregistered") {
    v.next = Next::kDropDevice;
  } else if (status == 403 && reason == "ExpiredProviderToken") {
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
  bool token_field = false;  // a BadRequest that names message.token
  if (const auto* details = e.if_contains("details"); details && details->is_array()) {
    for (const auto& d : details->as_array()) {
      if (!d.is_object()) continue;
      std::string type = Str(d.as_object(), "@type");
      if (type == "type.googleapis.com/google.firebase.fcm.v1.FcmError") code = Str(d.as_object(), "errorCode");
      const auto* violations = d.as_object().if_contains("fieldViolations");
      if (type != "type.googleapis.com/google.rpc.BadRequest" || !violations || !violations->is_array()) continue;
      for (const auto& f : violations->as_array()) {
        if (f.is_object() && Str(f.as_object(), "field") == "message.token") token_field = true;
      }
    }
  }
  std::string reason = !code.empty()               ? code
                       : !Str(e, "status").empty() ? Str(e, "status")
                                                   : "HTTP " + std::to_string(status);
  Verdict v{Next::kFail, reason, RetryAfter(retry_after)};
  // INVALID_ARGUMENT is about the token only when it says so; otherwise the
  // message itself was refused (too large, a bad field). SENDER_ID_MISMATCH is
  // a wrong project configured: the tokens stay for when it is mended.
  if (code == "UNREGISTERED" || (code == "INVALID_ARGUMENT" && token_field)) {
    v.next = Next::kDropDevice;
  } else if (status == 401 && code != "THIRD_PARTY_AUTH_ERROR") {
    v.next = Next::kRenewAuth;  // our access token expired or was revoked
  } else if (status == 429 || status >= 500) {
    v.next = Next::kRetry;  // QUOTA_EXCEEDED, UNAVAILABLE, INTERNAL
  }
  return v;
}

}  // namespace natter::push
