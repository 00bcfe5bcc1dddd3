// What a live WebSocket connection reads from and writes to: a plain TCP
// socket, or TLS over one. The connection above it is the same either way.
//
// Plain TCP waits for readability and reads into the worker's shared buffer,
// so an idle connection holds no read buffer; TLS keeps a small buffer of its
// own, since the TLS layer decides when bytes become readable.
// Thread-safety: used on the owning worker's thread only.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

namespace natter::gateway {

class Transport {
 public:
  // `data` is valid only during the call.
  using ReadHandler = std::function<void(const boost::system::error_code&, std::string_view data)>;
  using WriteHandler = std::function<void(const boost::system::error_code&)>;

  virtual ~Transport() = default;
  // Reads what is available (at least one byte) and calls `handler` once.
  virtual void ReadSome(ReadHandler handler) = 0;
  // Writes every buffer (one gathered write where the transport allows).
  virtual void Write(const std::vector<boost::asio::const_buffer>& buffers, WriteHandler handler) = 0;
  // The connection ends: what is still to be written must fit in the
  // kernel's buffers whether or not the peer reads (socket_buffers.h).
  virtual void MakeRoomForLastFrames() = 0;
  virtual void ShutdownSend() = 0;
  virtual void Close() = 0;  // cancels pending operations
};

std::unique_ptr<Transport> MakePlainTransport(boost::asio::ip::tcp::socket socket, char* shared_buffer,
                                              size_t shared_buffer_size);

}  // namespace natter::gateway
