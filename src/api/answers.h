// Small helpers the handlers share to build answers and events (api only).
// Thread-safety: pure functions.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <memory>
#include <string>
#include <vector>

#include "api/dispatcher.h"
#include "broker/broker.h"
#include "chat/conversations.h"
#include "chat/timeline.h"

namespace natter::api {

// Adapts a typed use-case result into the JSON reply.
template <class T, class ToJsonFn>
auto Respond(Reply reply, ToJsonFn to_json) {
  return [reply = std::move(reply), to_json](Result<T> r) {
    if (!r.ok()) return reply(r.take_error());
    reply(boost::json::value(to_json(*r)));
  };
}

// One server-to-client frame, serialised once for every recipient.
inline std::shared_ptr<const std::string> Frame(const boost::json::object& event) {
  return std::make_shared<const std::string>(boost::json::serialize(event));
}

std::vector<EventRecipient> ToRecipients(const std::vector<chat::Recipient>& in);

// The caller's own connection gets an answer, not the event, so the answer
// carries the caller's new pts: a client can then tell its own changes from
// missed ones.
void AddCallerPts(boost::json::object& answer, const std::vector<chat::Recipient>& recipients, UserId caller);

// A conversation's view as its changer's answer, with their pts.
boost::json::object ViewAnswer(const chat::ConversationView& view, UserId caller);

}  // namespace natter::api
