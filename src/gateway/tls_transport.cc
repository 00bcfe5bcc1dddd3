#include "gateway/tls_transport.h"

#include <boost/asio/write.hpp>

#include "gateway/socket_buffers.h"

namespace natter::gateway {
namespace {

constexpr size_t kTlsReadBuffer = 16 * 1024;  // one TLS record

class TlsTransport final : public Transport {
 public:
  explicit TlsTransport(TlsStream stream) : stream_(std::move(stream)) {
    boost::system::error_code ec;
    auto& socket = boost::beast::get_lowest_layer(stream_).socket();
    socket.set_option(boost::asio::ip::tcp::no_delay(true), ec);
    BoundUnsentBytes(socket);
  }

  void ReadSome(ReadHandler handler) override {
    if (!buffer_) buffer_ = std::make_unique<char[]>(kTlsReadBuffer);
    stream_.async_read_some(boost::asio::buffer(buffer_.get(), kTlsReadBuffer),
                            [this, handler = std::move(handler)](const boost::system::error_code& ec, size_t n) {
                              handler(ec, std::string_view(buffer_.get(), ec ? 0 : n));
                            });
  }

  void Write(const std::vector<boost::asio::const_buffer>& buffers, WriteHandler handler) override {
    // TLS encrypts one buffer at a time; joining the frames first makes one
    // set of records and one socket write instead of one per frame.
    scratch_.clear();
    for (const auto& b : buffers) scratch_.append(static_cast<const char*>(b.data()), b.size());
    boost::asio::async_write(
        stream_, boost::asio::buffer(scratch_),
        [handler = std::move(handler)](const boost::system::error_code& ec, size_t) { handler(ec); });
  }

  void MakeRoomForLastFrames() override {
    gateway::MakeRoomForLastFrames(boost::beast::get_lowest_layer(stream_).socket());
  }

  void ShutdownSend() override {
    boost::system::error_code ec;
    boost::beast::get_lowest_layer(stream_).socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
  }

  void Close() override {
    boost::system::error_code ec;
    boost::beast::get_lowest_layer(stream_).socket().close(ec);
  }

 private:
  TlsStream stream_;
  std::unique_ptr<char[]> buffer_;
  std::string scratch_;
};

}  // namespace

std::shared_ptr<boost::asio::ssl::context> MakeServerTlsContext(const std::string& cert_file,
                                                                const std::string& key_file) {
  namespace ssl = boost::asio::ssl;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  ctx->use_certificate_chain_file(cert_file);
  ctx->use_private_key_file(key_file, ssl::context::pem);
  return ctx;
}

std::unique_ptr<Transport> MakeTlsTransport(TlsStream stream) {
  return std::make_unique<TlsTransport>(std::move(stream));
}

}  // namespace natter::gateway
