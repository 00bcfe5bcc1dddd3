#include "bench/ws_client.h"

#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <array>
#include <random>

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>

namespace natter::bench {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// One read buffer per thread, shared by all its connections: a read drains
// into it and the decoder keeps only what belongs to a split frame.
thread_local std::array<char, size_t{256} * 1024> tls_read_buffer;

std::string Base64(const unsigned char* data, size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  const int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<size_t>(len));
  return out;
}

uint32_t Seed() {
  static thread_local std::mt19937 gen{std::random_device{}()};
  return gen();
}

}  // namespace

WsClient::WsClient(asio::io_context& ioc, TextHandler on_text, CloseHandler on_close)
    : socket_(ioc), timer_(ioc), on_text_(std::move(on_text)), on_close_(std::move(on_close)), mask_seed_(Seed()) {}

WsClient::~WsClient() = default;

void WsClient::Open(const Target& target, int timeout_ms, OpenHandler on_open) {
  on_open_ = std::move(on_open);
  state_ = State::kConnecting;
  boost::system::error_code ec;
  socket_.open(target.server.protocol(), ec);
  if (ec) return FailOpen("socket: " + ec.message());
  if (!target.source.is_unspecified()) {
    // Choose the port at connect() time, per destination, instead of at bind():
    // without this each source address gets one shared pool of ~28,000 ports.
    int one = 1;
    setsockopt(socket_.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    socket_.bind(tcp::endpoint(target.source, 0), ec);
    if (ec) return FailOpen("bind " + target.source.to_string() + ": " + ec.message());
  }
  socket_.set_option(tcp::no_delay(true), ec);
  std::array<unsigned char, 16> key;
  for (size_t i = 0; i < key.size(); i += 4) {
    const uint32_t r = Seed();
    std::memcpy(key.data() + i, &r, 4);
  }
  const std::string key64 = Base64(key.data(), key.size());
  const std::string concat = key64 + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(concat.data()), concat.size(), digest);
  accept_ = Base64(digest, sizeof digest);
  out_ = "GET /v1/ws HTTP/1.1\r\nHost: " + target.host +
         "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key64 +
         "\r\nSec-WebSocket-Version: 13\r\n";
  if (!target.bearer.empty()) out_ += "Authorization: Bearer " + target.bearer + "\r\n";
  out_ += "\r\n";
  timer_.expires_after(std::chrono::milliseconds(timeout_ms));
  timer_.async_wait([self = weak_from_this()](boost::system::error_code ec) {
    auto s = self.lock();
    if (!ec && s && s->state_ == State::kConnecting) s->FailOpen("timed out");
  });
  socket_.async_connect(target.server, [self = shared_from_this()](boost::system::error_code ec) {
    if (self->state_ != State::kConnecting) return;
    if (ec) return self->FailOpen("connect: " + ec.message());
    std::string request = std::move(self->out_);
    self->out_.clear();
    self->writing_ = std::move(request);
    self->write_in_flight_ = true;
    asio::async_write(self->socket_, asio::buffer(self->writing_), [self](boost::system::error_code ec, size_t) {
      self->write_in_flight_ = false;
      std::string().swap(self->writing_);
      if (self->state_ != State::kConnecting) return;
      if (ec) return self->FailOpen("write upgrade: " + ec.message());
      self->ReadHandshake();
    });
  });
}

void WsClient::FailOpen(const std::string& why) {
  if (state_ != State::kConnecting) return;
  state_ = State::kClosed;
  timer_.cancel();
  boost::system::error_code ec;
  socket_.close(ec);
  if (auto cb = std::move(on_open_)) cb(why.empty() ? "failed" : why);
}

void WsClient::ReadHandshake() {
  socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](boost::system::error_code ec) {
    if (self->state_ != State::kConnecting) return;
    if (ec) return self->FailOpen("upgrade read: " + ec.message());
    size_t n = self->socket_.read_some(asio::buffer(tls_read_buffer), ec);
    if (ec) return self->FailOpen("upgrade read: " + ec.message());
    self->handshake_.append(tls_read_buffer.data(), n);
    const size_t end = self->handshake_.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (self->handshake_.size() > 16384) return self->FailOpen("upgrade answer too long");
      return self->ReadHandshake();
    }
    std::string head = self->handshake_.substr(0, end);
    std::string rest = self->handshake_.substr(end + 4);
    std::string().swap(self->handshake_);
    if (head.rfind("HTTP/1.1 101", 0) != 0) {
      const size_t eol = head.find("\r\n");
      return self->FailOpen("upgrade refused: " + head.substr(0, eol) +
                            (rest.empty() ? "" : " " + rest.substr(0, 200)));
    }
    std::string lower = head;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const size_t at = lower.find("sec-websocket-accept:");
    if (at == std::string::npos) return self->FailOpen("no Sec-WebSocket-Accept");
    size_t v = at + 21;
    while (v < head.size() && head[v] == ' ') ++v;
    const size_t ve = head.find("\r\n", v);
    if (head.substr(v, ve == std::string::npos ? std::string::npos : ve - v) != self->accept_) {
      return self->FailOpen("wrong Sec-WebSocket-Accept");
    }
    std::string().swap(self->accept_);
    self->state_ = State::kOpen;
    self->timer_.cancel();
    if (auto cb = std::move(self->on_open_)) cb("");
    if (self->state_ != State::kOpen) return;
    // Frames that came with the upgrade answer.
    std::string_view input(rest);
    WsFrame frame;
    for (;;) {
      auto r = self->decoder_.Next(input, frame);
      if (r == FrameDecoder::Result::kNeedMore) break;
      if (r == FrameDecoder::Result::kError) return self->Finish(std::string("protocol: ") + self->decoder_.error());
      if (frame.opcode == WsOpcode::kText) self->on_text_(frame.payload);
      if (self->state_ != State::kOpen) return;
    }
    self->WaitReadable();
  });
}

void WsClient::WaitReadable() {
  socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](boost::system::error_code ec) {
    if (self->state_ != State::kOpen) return;
    if (ec) return self->Finish("read: " + ec.message());
    self->OnReadable();
  });
}

void WsClient::OnReadable() {
  for (int round = 0; round < 4; ++round) {
    boost::system::error_code ec;
    socket_.non_blocking(true, ec);
    const size_t n = socket_.read_some(asio::buffer(tls_read_buffer), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) break;
    if (ec == asio::error::eof) return Finish("server closed the connection");
    if (ec) return Finish("read: " + ec.message());
    std::string_view input(tls_read_buffer.data(), n);
    WsFrame frame;
    for (;;) {
      auto r = decoder_.Next(input, frame);
      if (r == FrameDecoder::Result::kNeedMore) break;
      if (r == FrameDecoder::Result::kError) {
        return Finish(std::string("protocol: ") + decoder_.error() + " [" + decoder_.error_bytes() + "]");
      }
      switch (frame.opcode) {
        case WsOpcode::kText:
          on_text_(frame.payload);
          break;
        case WsOpcode::kPing: {
          EncodeClientFrame(WsOpcode::kPong, frame.payload, mask_seed_++ * 2654435761u, out_);
          Flush();
          break;
        }
        case WsOpcode::kClose: {
          uint16_t code = frame.payload.size() >= 2
                              ? static_cast<uint16_t>((uint8_t(frame.payload[0]) << 8) | uint8_t(frame.payload[1]))
                              : 1005;
          std::string reason(frame.payload.size() > 2 ? frame.payload.substr(2) : std::string_view{});
          return Finish("close " + std::to_string(code) + (reason.empty() ? "" : " " + reason));
        }
        default:
          break;
      }
      if (state_ != State::kOpen) return;
    }
    if (n < tls_read_buffer.size()) break;
  }
  WaitReadable();
}

void WsClient::SendText(std::string_view text) {
  if (state_ != State::kOpen) return;
  EncodeClientFrame(WsOpcode::kText, text, mask_seed_++ * 2654435761u, out_);
  Flush();
}

void WsClient::Flush() {
  if (write_in_flight_ || out_.empty() || state_ != State::kOpen) return;
  // Everything queued so far leaves in one write; what is queued meanwhile
  // waits for the next one.
  writing_.swap(out_);
  write_in_flight_ = true;
  asio::async_write(socket_, asio::buffer(writing_), [self = shared_from_this()](boost::system::error_code ec, size_t) {
    self->write_in_flight_ = false;
    self->writing_.clear();
    if (self->writing_.capacity() > 65536) std::string().swap(self->writing_);
    if (self->state_ != State::kOpen) return;
    if (ec) return self->Finish("write: " + ec.message());
    self->Flush();
  });
}

void WsClient::Abort() {
  if (state_ == State::kConnecting) return FailOpen("aborted");
  if (state_ != State::kOpen) return;
  state_ = State::kClosed;
  boost::system::error_code ec;
  socket_.close(ec);
  std::string().swap(out_);
}

void WsClient::CloseGracefully() {
  if (state_ != State::kOpen) return;
  const char payload[2] = {static_cast<char>(0x03), static_cast<char>(0xE8)};  // 1000
  EncodeClientFrame(WsOpcode::kClose, std::string_view(payload, 2), mask_seed_++, out_);
  Flush();
}

void WsClient::Finish(const std::string& reason) {
  if (state_ != State::kOpen) return;
  state_ = State::kClosed;
  boost::system::error_code ec;
  socket_.close(ec);
  std::string().swap(out_);
  if (auto cb = std::move(on_close_)) cb(reason);
}

}  // namespace natter::bench
