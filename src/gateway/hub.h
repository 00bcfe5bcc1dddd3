// The gateway's side of fan-out: takes an event from the broker, encodes its
// WebSocket frame once, and hands the same immutable buffer to each worker,
// which queues it on the recipients' connections it holds.
//
// Events reach each worker in the order Deliver was called. Asio alone does
// not keep that order across threads: a handler posted from the worker's own
// thread waits in a private queue until the current handler returns, behind
// handlers other threads posted meanwhile. So each worker has an inbox here,
// appended to in call order and drained on the worker.
//
// Thread-safety: Deliver() may be called from any thread.
#pragma once

#include <deque>
#include <memory>
#include <vector>

#include "broker/broker.h"
#include "common/mutex.h"
#include "gateway/event_target.h"
#include "gateway/worker.h"

namespace natter::gateway {

class Hub final : public EventSink {
 public:
  explicit Hub(std::vector<std::unique_ptr<Worker>>& workers);
  ~Hub() override;
  void Deliver(const Event& event) override;
  void EventsMayBeLost() override;
  void FollowedLate(const std::vector<UserId>& users) override;

 private:
  // One event as every worker receives it.
  struct Fanout {
    EventFrame frame;
    std::shared_ptr<const std::vector<EventRecipient>> recipients;
    uint64_t origin = 0;
    RequestId request_id;  // whose lines the deliveries belong to
  };
  // A worker's events not yet handed to its connections.
  struct Inbox {
    Mutex mu;
    std::deque<Fanout> events GUARDED_BY(mu);
    bool draining GUARDED_BY(mu) = false;  // a drain is posted or running
  };

  // On worker `w`: hands every event in its inbox, in order, to the
  // recipients' connections it holds.
  void Drain(Worker& w, Inbox& inbox);
  // Closes every connection of a logged-out session, wherever it is.
  void RevokeSession(const Event& event);

  std::vector<std::unique_ptr<Worker>>& workers_;
  std::vector<std::unique_ptr<Inbox>> inboxes_;  // one per worker, same index
};

}  // namespace natter::gateway
