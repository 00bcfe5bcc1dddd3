#include "gateway/hub.h"

#include <boost/asio/post.hpp>

#include "gateway/ws/frame_writer.h"
#include "gateway/ws_connection.h"

namespace natter::gateway {

void Hub::Deliver(const Event& event) {
  auto frame = std::make_shared<const std::string>(ws::EncodeFrame(ws::Opcode::kText, *event.payload));
  auto recipients = std::make_shared<const std::vector<UserId>>(event.recipients);
  uint64_t origin = event.origin_connection;
  for (auto& worker : workers_) {
    Worker* w = worker.get();
    boost::asio::post(w->context(), [w, frame, recipients, origin] {
      for (UserId user : *recipients) {
        const auto* conns = w->ConnectionsOf(user);
        if (!conns) continue;
        for (WsConnection* conn : *conns) {
          if (conn->id() != origin) conn->EnqueueEvent(frame);
        }
      }
    });
  }
}

}  // namespace natter::gateway
