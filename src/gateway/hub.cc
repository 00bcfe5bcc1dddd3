#include "gateway/hub.h"

#include "common/guarded.h"
#include "gateway/event_target.h"
#include "gateway/worker.h"
#include "gateway/ws/frame_writer.h"

namespace natter::gateway {

Hub::Hub(std::vector<std::unique_ptr<Worker>>& workers) : workers_(workers) {
  for (size_t i = 0; i < workers_.size(); ++i) inboxes_.push_back(std::make_unique<Inbox>());
}

Hub::~Hub() = default;

void Hub::Deliver(const Event& event) {
  if (event.revoke_session != 0) return RevokeSession(event);
  if (!event.payload) return;  // nothing to send
  // Encoded once; every worker and connection shares these buffers.
  Fanout fanout;
  fanout.frame.payload = event.payload;
  fanout.frame.frame = std::make_shared<const std::string>(ws::EncodeFrame(ws::Opcode::kText, *event.payload));
  fanout.frame.conversation_id = event.conversation_id;
  fanout.frame.seq = event.seq;
  fanout.frame.joins = event.joins;
  fanout.frame.presence_of = event.presence_of;
  fanout.recipients = std::make_shared<const std::vector<EventRecipient>>(event.recipients);
  fanout.origin = event.origin_connection;
  fanout.request_id = event.request_id;
  for (size_t i = 0; i < workers_.size(); ++i) {
    Inbox& inbox = *inboxes_[i];
    {
      MutexLock lock(inbox.mu);
      inbox.events.push_back(fanout);
      if (inbox.draining) continue;  // the drain posted earlier takes this one too
      inbox.draining = true;
    }
    Worker* w = workers_[i].get();
    w->Post([this, w, &inbox] { Drain(*w, inbox); });
  }
}

void Hub::Drain(Worker& w, Inbox& inbox) {
  // This loop posts itself again: it must not carry the id of the request
  // that first started it into every later turn. Each event has its own.
  ScopedRequestId none(RequestId{});
  // One batch a turn, then back to the worker's loop (its sockets and timers
  // wait meanwhile); the next batch is posted while the inbox is not empty.
  std::deque<Fanout> events;
  {
    MutexLock lock(inbox.mu);
    if (inbox.events.empty()) {
      inbox.draining = false;
      return;
    }
    events.swap(inbox.events);
  }
  RunCatching("fan-out", [&] {
    for (Fanout& f : events) {
      ScopedRequestId scope(f.request_id);
      for (const EventRecipient& r : *f.recipients) {
        const auto* conns = w.ConnectionsOf(r.user);
        if (!conns) continue;
        f.frame.pts = r.pts;
        // EnqueueEvent never removes a connection from the list synchronously.
        for (EventTarget* conn : *conns) {
          f.frame.own = conn->id() == f.origin;
          conn->EnqueueEvent(f.frame);
        }
        f.frame.own = false;
      }
    }
  });
  // Still draining: events that came meanwhile (or none) get the next turn.
  w.Post([this, &w, &inbox] { Drain(w, inbox); });
}

void Hub::EventsMayBeLost() {
  for (auto& worker : workers_) {
    Worker* w = worker.get();
    w->Post([w] { w->TellAllToResync("events_lost"); });
  }
}

void Hub::FollowedLate(const std::vector<UserId>& users) {
  for (auto& worker : workers_) {
    Worker* w = worker.get();
    w->Post([w, users] {
      for (UserId user : users) {
        const auto* conns = w->ConnectionsOf(user);
        if (!conns) continue;
        for (EventTarget* conn : *conns) conn->TellToSync("conversation_followed");
      }
    });
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
