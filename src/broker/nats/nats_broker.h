// The cluster broker: events cross between natterd nodes over NATS.
//
// Publish() hands the event to this node's sink at once (local delivery never
// waits for NATS, and works while NATS is down), then sends it, without its
// origin connection, on the subjects in broker/nats/subjects.h. A node
// listens only on the subjects of its online users and their conversations,
// so an event reaches only nodes with a recipient online; the no-echo option
// keeps a node's own publishes from coming back to it.
//
// NATS is best effort here: the node starts while NATS is unreachable and
// reconnects for ever; what is published while the link is down is dropped,
// not queued, and on every (re)connection the sink is told EventsMayBeLost(),
// so clients sync what they missed from the store.
//
// Membership: UserOnline() asks the lister for the user's conversations and
// listens on them; conversation frames and timeline events naming a local
// user add more. A removal is not tracked: the subscription stays until the
// user goes offline, and the sink drops what is not for its users anyway.
//
// Thread-safety: every method may be called from any thread. The sink is
// called from Publish()'s caller and from libnats's threads; the lister from
// UserOnline()'s caller, and its answer may come on any thread. Both must
// outlive the broker. The destructor drains the connection and returns once
// no libnats callback can run any more (it waits at most a few seconds).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "broker/broker.h"
#include "natter/status.h"

namespace natter {

struct NatsBrokerOptions {
  // NATS URLs ("nats://host:4222"); at least one.
  std::vector<std::string> servers;
  // The connection's name, as the NATS server's monitoring shows it.
  std::string name;
  int reconnect_wait_ms = 250;
  // Learns how long each round trip to NATS took (microseconds): a flush
  // after subscribing, which a user's first connection waits for.
  std::function<void(int64_t us)> on_round_trip = nullptr;
};

// Answers, asynchronously and on any thread, the ids of the conversations a
// user belongs to (natterd reads them from the store).
using ConversationLister = std::function<void(UserId, std::function<void(Result<std::vector<ConversationId>>)>)>;

// Starts connecting and returns at once, connected or not. Throws
// std::invalid_argument or std::runtime_error on unusable options (start-up).
std::unique_ptr<Broker> MakeNatsBroker(const NatsBrokerOptions& options, EventSink& sink, ConversationLister lister);

}  // namespace natter
