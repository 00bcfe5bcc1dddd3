#include <boost/asio/write.hpp>

#include "gateway/socket_buffers.h"
#include "gateway/transport.h"

namespace natter::gateway {
namespace {

using boost::asio::ip::tcp;

class PlainTransport final : public Transport {
 public:
  PlainTransport(tcp::socket socket, char* buffer, size_t size)
      : socket_(std::move(socket)), buffer_(buffer), size_(size) {
    boost::system::error_code ec;
    socket_.non_blocking(true, ec);
    socket_.set_option(tcp::no_delay(true), ec);
    BoundUnsentBytes(socket_);
  }

  void ReadSome(ReadHandler handler) override {
    socket_.async_wait(tcp::socket::wait_read,
                       [this, handler = std::move(handler)](const boost::system::error_code& ec) mutable {
                         if (ec) return handler(ec, {});
                         boost::system::error_code read_ec;
                         size_t n = socket_.read_some(boost::asio::buffer(buffer_, size_), read_ec);
                         if (read_ec == boost::asio::error::would_block) return ReadSome(std::move(handler));
                         handler(read_ec, std::string_view(buffer_, read_ec ? 0 : n));
                       });
  }

  void Write(const std::vector<boost::asio::const_buffer>& buffers, WriteHandler handler) override {
    boost::asio::async_write(
        socket_, buffers, [handler = std::move(handler)](const boost::system::error_code& ec, size_t) { handler(ec); });
  }

  void MakeRoomForLastFrames() override { gateway::MakeRoomForLastFrames(socket_); }

  void ShutdownSend() override {
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
  }

  void Close() override {
    boost::system::error_code ec;
    socket_.close(ec);
  }

 private:
  tcp::socket socket_;
  char* buffer_;
  size_t size_;
};

}  // namespace

std::unique_ptr<Transport> MakePlainTransport(tcp::socket socket, char* shared_buffer, size_t size) {
  return std::make_unique<PlainTransport>(std::move(socket), shared_buffer, size);
}

}  // namespace natter::gateway
