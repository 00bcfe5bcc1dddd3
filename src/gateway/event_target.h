// What fan-out sees of a live connection: the Hub and a worker's registry
// reach connections through this small interface, so they compile without
// the connection's own machinery (the API, its codec, the transport).
// Thread-safety: only on the connection's worker thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "natter/model.h"

namespace natter::gateway {

// One event as a connection receives it: the whole frame, shared by every
// recipient without a pts, and the JSON payload, for splicing in a recipient's
// pts without copying it.
struct EventFrame {
  std::shared_ptr<const std::string> frame;
  std::shared_ptr<const std::string> payload;
  int64_t pts = 0;
  ConversationId conversation_id = 0;
  Seq seq = 0;
  // The target's own request made it (it has the answer): nothing is sent,
  // but the target knows this seq was not missed.
  bool own = false;
  // The recipient just joined `conversation_id`: its seq order starts afresh.
  bool joins = false;
  // A presence change of this user (Event::presence_of): it may wait, and
  // replaces one of the same user still waiting on the socket.
  UserId presence_of = 0;
};

class EventTarget {
 public:
  virtual uint64_t id() const = 0;
  virtual SessionId session() const = 0;
  // Queues an event (or, `own`, notes its seq). Droppable: a target that
  // falls behind is told to pull.
  virtual void EnqueueEvent(const EventFrame& event) = 0;
  // Tells the client that events may have been lost and that it should sync.
  virtual void TellToResync(const char* reason) = 0;
  // Tells the client to sync for a conversation this node has just begun to
  // follow, whose first events it may not have received: the order of the
  // conversations it followed already is kept (nothing of theirs was missed,
  // and the new one has no order yet).
  virtual void TellToSync(const char* reason) = 0;
  // Sends a close frame and ends the connection once it is written.
  virtual void Close(uint16_t code, std::string_view reason) = 0;

 protected:
  ~EventTarget() = default;
};

}  // namespace natter::gateway
