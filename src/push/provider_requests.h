// What natterd sends to the push providers and how it reads their answers,
// as pure functions: the APNs HTTP/2 provider API request (path, headers,
// payload) and the FCM HTTP v1 `messages:send` body for one notification, and
// each provider's answer turned into what to do next (sent, retry, renew the
// provider token and retry, drop the device token, give up).
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace natter::push {

struct Notification {
  enum class Kind {
    kAlert,  // a message the user should see
    kBadge,  // only the badge changes (a muted conversation): silent
    kClear,  // read on another device: the app removes what it showed
  };
  Kind kind = Kind::kAlert;
  std::string title;  // who sent it; "" when previews are hidden
  std::string body;   // the preview, or a generic line (hidden previews, encrypted conversations)
  int64_t badge = 0;  // the user's total unread count
  int64_t conversation_id = 0;
  int64_t seq = 0;
  int64_t expires_at = 0;  // seconds since 1970 after which the provider drops it; 0: the provider's longest
};

// Several notifications of one conversation replace each other on the device.
std::string CollapseId(int64_t conversation_id);

struct ApnsRequest {
  std::string path;  // /3/device/<token>
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};
// `topic`: the app's bundle id.
ApnsRequest BuildApnsRequest(const Notification& n, std::string_view device_token, std::string_view topic);

// The body of POST /v1/projects/<project>/messages:send.
std::string BuildFcmMessage(const Notification& n, std::string_view registration_token);

struct Verdict {
  enum class Next {
    kSent,
    kRetry,       // later: after retry_after when the provider said, else with backoff
    kRenewAuth,   // the provider token or access token is stale: make a new one, then retry
    kDropDevice,  // the device token is no longer valid: delete it, never retry
    kFail,        // this notification cannot be sent as it is (logged, counted, dropped)
  };
  Next next = Next::kFail;
  std::string reason;                   // the provider's reason ("Unregistered", "QUOTA_EXCEEDED")
  std::chrono::seconds retry_after{0};  // when the provider said
};

// `retry_after`: the Retry-After header's value, or "".
Verdict ReadApnsAnswer(int status, std::string_view body, std::string_view retry_after);
Verdict ReadFcmAnswer(int status, std::string_view body, std::string_view retry_after);

}  // namespace natter::push
