// What a push notification from natterd names: its conversation and seq, so
// an app that is opened from a notification shows the right chat. Reads the
// APNs payload (the notification's userInfo: {"aps":..., "natter":{...}}), an
// FCM message ({"data":{...}}) or its data map alone (the strings Android's
// RemoteMessage.getData() holds).
//
// Thread-safety: pure functions.
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace natter::client {

struct PushTarget {
  int64_t conversation_id = 0;
  int64_t seq = 0;
  std::string kind;    // "message" (an alert), "badge" (a muted conversation), "clear" (read elsewhere)
  int64_t badge = -1;  // the unread count it set, -1 when it carried none
};

// Empty, with `why`, when the payload is not one of natterd's.
std::optional<PushTarget> ReadPushPayload(std::string_view json, std::string& why);
boost::json::object ToJson(const PushTarget& target);

}  // namespace natter::client
