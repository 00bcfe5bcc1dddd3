// The Broker seam: carries events (never the record) from the node that
// committed them to every node with a recipient online. Embedded: in-process
// (broker/local). Cluster: NATS (broker/nats). A lost event is repaired by
// sync from the store, so a broker need not be reliable.
//
// Thread-safety: Publish() may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "natter/model.h"

namespace natter {

struct Event {
  std::vector<UserId> recipients;
  // The JSON text of one server-to-client frame, serialised once for everyone.
  std::shared_ptr<const std::string> payload;
  // The connection that caused the event already has its answer; skip it.
  uint64_t origin_connection = 0;
};

// Where a broker hands events for users connected to this node (the gateway).
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void Deliver(const Event& event) = 0;
};

class Broker {
 public:
  virtual ~Broker() = default;
  virtual void Publish(Event event) = 0;
};

// The embedded broker: every event goes straight to this process's sink.
std::unique_ptr<Broker> MakeLocalBroker(EventSink& sink);

}  // namespace natter
