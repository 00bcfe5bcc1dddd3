// What the kernel may hold for a WebSocket's TCP socket on its way out.
//
// Unbounded, the kernel keeps megabytes of unsent frames for a client that
// stopped reading, and when natterd gives up on that client the resync notice
// and the close frame (4030) wait behind them forever: the client, reading
// again, finds a connection cut without a word. Bounded, the kernel holds at
// most kUnsentBytes unsent, and a connection that ends lifts the bound and
// makes room, so its last frames always join the queue and the client reads
// them after the frames already sent.
#pragma once

#include <boost/asio/ip/tcp.hpp>

namespace natter::gateway {

inline constexpr int kUnsentBytes = 64 * 1024;

// For a new connection: the kernel holds at most kUnsentBytes unsent.
void BoundUnsentBytes(boost::asio::ip::tcp::socket& socket);
// For a connection that ends: lifts the bound and, where the kernel's send
// buffer is small, enlarges it, so what natterd still has to send (the rest
// of the write in flight, the notice, the close frame) fits at once.
void MakeRoomForLastFrames(boost::asio::ip::tcp::socket& socket);

}  // namespace natter::gateway
