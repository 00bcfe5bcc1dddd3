// The Broker seam: carries events (never the record) from the node that
// committed them to every node with a recipient online. Embedded: in-process
// (broker/local). Cluster: NATS (broker/nats). A lost event is repaired by
// sync from the store, so a broker need not be reliable.
//
// Thread-safety: Publish() may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/request_id.h"
#include "natter/model.h"

namespace natter {

// A user an event goes to, and the pts of the entry it made in their update
// log (0: none). A non-zero pts is added to the frame as "pts", so a live
// client sees at once when it missed something.
struct EventRecipient {
  UserId user = 0;
  int64_t pts = 0;
};

struct Event {
  std::vector<EventRecipient> recipients;
  // The JSON text of one server-to-client frame (an object), serialised once
  // for everyone; per-recipient "pts" is spliced in at its end.
  std::shared_ptr<const std::string> payload;
  // The connection that caused the event already has its answer; skip it.
  uint64_t origin_connection = 0;
  // The conversation the event belongs to (timeline, receipts, typing), 0 for
  // others; with `seq` (timeline events only) a connection catching up drops
  // what its catch-up already contained.
  ConversationId conversation_id = 0;
  Seq seq = 0;
  // Also to each recipient directly, not only to whoever follows the
  // conversation: the events of a membership change reach new members before
  // their node follows it (cluster brokers).
  bool to_each_recipient = false;
  // The recipients just joined `conversation_id` (this is the frame that tells
  // them all of it): their sockets start its seq order afresh, whatever seq
  // they saw there before they left.
  bool joins = false;
  // A presence change of this user (0: not presence). It may wait a moment
  // on each socket, so the changes one recipient gets close together leave
  // in one write, and it replaces a change of the same user still waiting.
  UserId presence_of = 0;
  // Close the connections of this session (logout); no payload.
  SessionId revoke_session = 0;
  // The request that caused it (empty: none), so its lines on every node
  // that delivers it carry the same id.
  RequestId request_id = CurrentRequestId();
};

// Where a broker hands events for users connected to this node (the gateway).
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void Deliver(const Event& event) = 0;
  // Events may have been lost (the link between nodes was down): every local
  // connection is told to pull what it missed with a sync.
  virtual void EventsMayBeLost() {}
  // This node has just started to receive the events of a conversation these
  // users were added to (or created): what other nodes committed in it before
  // then did not reach them live, so their connections are told to sync.
  virtual void FollowedLate(const std::vector<UserId>& users) {}
};

class Broker {
 public:
  virtual ~Broker() = default;
  virtual void Publish(Event event) = 0;

  // The gateway reports a user's first connection to this node and the end of
  // their last one, so a cluster broker listens only for what they need.
  // `ready` (may be empty) runs, on any thread, once this node receives the
  // user's events: a catch-up read after that misses nothing in between.
  virtual void UserOnline(
      UserId, std::function<void()> ready = {}) {  // NOLINT(performance-unnecessary-value-param): overrides keep it
    if (ready) ready();
  }
  virtual void UserOffline(UserId) {}

  // For /readyz and logs: "local", "connected", "reconnecting" or "disconnected".
  virtual std::string State() const { return "local"; }
};

// The embedded broker: every event goes straight to this process's sink.
std::unique_ptr<Broker> MakeLocalBroker(EventSink& sink);

}  // namespace natter
