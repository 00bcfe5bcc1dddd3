#include "gateway/hub.h"

#include "gateway/event_target.h"
#include "gateway/worker.h"
#include "gateway/ws/frame_writer.h"

namespace natter::gateway {

void Hub::Deliver(const Event& event) {
  if (event.revoke_session != 0) return RevokeSession(event);
  if (!event.payload) return;  // nothing to send
  // Encoded once; every worker and connection shares these buffers.
  EventFrame shared;
  shared.payload = event.payload;
  shared.frame = std::make_shared<const std::string>(ws::EncodeFrame(ws::Opcode::kText, *event.payload));
  shared.conversation_id = event.conversation_id;
  shared.seq = event.seq;
  auto recipients = std::make_shared<const std::vector<EventRecipient>>(event.recipients);
  uint64_t origin = event.origin_connection;
  for (auto& worker : workers_) {
    Worker* w = worker.get();
    w->Post([w, shared, recipients, origin] {
      EventFrame frame = shared;
      for (const EventRecipient& r : *recipients) {
        const auto* conns = w->ConnectionsOf(r.user);
        if (!conns) continue;
        frame.pts = r.pts;
        // EnqueueEvent never removes a connection from the list synchronously.
        for (EventTarget* conn : *conns) {
          if (conn->id() != origin) conn->EnqueueEvent(frame);
        }
      }
    });
  }
}

void Hub::EventsMayBeLost() {
  for (auto& worker : workers_) {
    Worker* w = worker.get();
    w->Post([w] { w->TellAllToResync("events_lost"); });
  }
}

void Hub::RevokeSession(const Event& event) {
  for (auto& worker : workers_) {
    Worker* w = worker.get();
    UserId user = event.recipients.empty() ? 0 : event.recipients.front().user;
    SessionId session = event.revoke_session;
    w->Post([w, user, session] {
      const auto* conns = w->ConnectionsOf(user);
      if (!conns) return;
      auto snapshot = *conns;
      for (EventTarget* conn : snapshot) {
        if (conn->session() == session) conn->Close(ws::close_code::kUnauthorized, "session ended");
      }
    });
  }
}

}  // namespace natter::gateway
