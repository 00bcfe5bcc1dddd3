// The gateway's side of fan-out: takes an event from the broker, encodes its
// WebSocket frame once, and hands the same immutable buffer to each worker,
// which queues it on the recipients' connections it holds.
// Thread-safety: Deliver() may be called from any thread.
#pragma once

#include <memory>
#include <vector>

#include "broker/broker.h"
#include "gateway/worker.h"

namespace natter::gateway {

class Hub final : public EventSink {
 public:
  explicit Hub(std::vector<std::unique_ptr<Worker>>& workers) : workers_(workers) {}
  void Deliver(const Event& event) override;
  void EventsMayBeLost() override;

 private:
  // Closes every connection of a logged-out session, wherever it is.
  void RevokeSession(const Event& event);

  std::vector<std::unique_ptr<Worker>>& workers_;
};

}  // namespace natter::gateway
