// One client WebSocket connection on Asio: optional bind to a source address
// (so many loopback addresses multiply the ephemeral ports), the HTTP upgrade,
// then text messages in both directions. Reads wait for readability and then
// read into one buffer shared by every connection of the thread, so an idle
// connection holds only its socket, its decoder and a few counters. Writes
// queued in one loop turn leave in one gathered write.
//
// Thread-safety: not thread-safe. A WsClient lives on one io_context thread
// and every call must be made from that thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "bench/ws_codec.h"

namespace natter::bench {

class WsClient : public std::enable_shared_from_this<WsClient> {
 public:
  struct Target {
    boost::asio::ip::tcp::endpoint server;
    boost::asio::ip::address source;  // unspecified: let the kernel choose
    std::string host;                 // Host header
    std::string bearer;               // Authorization header on the upgrade ("" for none)
  };
  // Called once when the upgrade finished (error empty) or failed.
  using OpenHandler = std::function<void(const std::string& error)>;
  using TextHandler = std::function<void(std::string_view text)>;
  // Called once when an open connection ends, with the reason.
  using CloseHandler = std::function<void(const std::string& reason)>;

  WsClient(boost::asio::io_context& ioc, TextHandler on_text, CloseHandler on_close);
  ~WsClient();

  void Open(const Target& target, int timeout_ms, OpenHandler on_open);
  void SendText(std::string_view text);
  // Drops the TCP connection at once (what a phone losing its network does).
  void Abort();
  // Sends a close frame and lets the server finish the close handshake.
  void CloseGracefully();

  bool open() const { return state_ == State::kOpen; }

 private:
  enum class State { kIdle, kConnecting, kOpen, kClosed };
  void FailOpen(const std::string& why);
  void ReadHandshake();
  void WaitReadable();
  void OnReadable();
  void Flush();
  void Finish(const std::string& reason);

  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer timer_;
  TextHandler on_text_;
  CloseHandler on_close_;
  OpenHandler on_open_;
  State state_ = State::kIdle;
  FrameDecoder decoder_;
  std::string handshake_;  // response bytes until the blank line
  std::string accept_;     // expected Sec-WebSocket-Accept
  std::string out_;        // frames queued while a write is in flight
  std::string writing_;
  bool write_in_flight_ = false;
  uint32_t mask_seed_;
};

}  // namespace natter::bench
