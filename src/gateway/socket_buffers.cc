#include "gateway/socket_buffers.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace natter::gateway {
namespace {

// A send buffer that holds the bounded unsent bytes, the rest of a write in
// flight (WsConnection writes at most 64 KiB at a time, or one larger frame)
// and the last frames, with the margin Linux wants before it reports room.
constexpr int kRoomyBufferBytes = 512 * 1024;

}  // namespace

void BoundUnsentBytes(boost::asio::ip::tcp::socket& socket) {
  int bytes = kUnsentBytes;
  ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_NOTSENT_LOWAT, &bytes, sizeof bytes);
}

void MakeRoomForLastFrames(boost::asio::ip::tcp::socket& socket) {
  int fd = socket.native_handle();
  int unbounded = 0;  // back to the system's setting, which has no bound
  ::setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &unbounded, sizeof unbounded);
  int size = 0;
  socklen_t length = sizeof size;
  if (::getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, &length) == 0 && size < kRoomyBufferBytes) {
    // Linux doubles what is asked for its own bookkeeping (and caps it at
    // net.core.wmem_max, 208 KiB by default: 416 KiB in all).
    int ask = kRoomyBufferBytes / 2;
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &ask, sizeof ask);
  }
}

}  // namespace natter::gateway
