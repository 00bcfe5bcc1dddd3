// Which NATS subjects an event travels on. Interest-based: a node subscribes
// only to what its online users need, so an event crosses only to nodes with
// a recipient there.
//   natter.c.<conversation_id>  timeline events, one publish per event
//   natter.u.<user_id>          events for a user outside any timeline
//                               (presence, logout), and conversation frames,
//                               which also reach members the node has not yet
//                               subscribed to that conversation for
//   natter.sessions             logouts: every node listens, so a session's
//                               access tokens stop working on all of them
//   natter.lost                 a node's link was down and its events did not
//                               go out: every node tells its clients to sync
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/broker.h"

namespace natter::nats {

std::string ConversationSubject(ConversationId id);
std::string UserSubject(UserId id);
std::string SessionsSubject();
std::string LostSubject();

// The id of the conversation a {"type":"conversation","conversation":{"id":..}}
// frame announces (a conversation created, or its members changed), or
// nullopt for any other frame. Never throws on bad input.
std::optional<ConversationId> ConversationFrameId(std::string_view payload);

// Every subject `event` is published on, each once. `frame_conversation` is
// ConversationFrameId() of its payload.
std::vector<std::string> SubjectsFor(const Event& event, std::optional<ConversationId> frame_conversation);

}  // namespace natter::nats
