// The client side of RFC 6455 framing, without sockets: frames the bench
// sends are masked (as a client must), frames it reads are unmasked (as a
// server sends them). No permessage-deflate is offered, so RSV bits are errors.
// The decoder holds bytes only while a frame is split across reads, so an
// idle connection keeps no buffer.
//
// Thread-safety: EncodeClientFrame is a pure function; a FrameDecoder belongs
// to one connection and is used from that connection's thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace natter::bench {

enum class WsOpcode : uint8_t { kContinuation = 0, kText = 1, kBinary = 2, kClose = 8, kPing = 9, kPong = 10 };

// Appends one final (FIN) frame with `payload` masked by `mask_key` to `out`.
void EncodeClientFrame(WsOpcode op, std::string_view payload, uint32_t mask_key, std::string& out);

// A whole data message (fragments joined) or one control frame. `payload`
// points into the decoder or the caller's input and is valid until the next
// call to Next().
struct WsFrame {
  WsOpcode opcode = WsOpcode::kText;
  std::string_view payload;
};

class FrameDecoder {
 public:
  enum class Result { kNeedMore, kFrame, kError };

  explicit FrameDecoder(size_t max_message_bytes = 16 << 20) : max_message_bytes_(max_message_bytes) {}

  // Consumes bytes from the front of `input`. Call repeatedly until kNeedMore
  // (everything consumed and kept) or kError (error() says why; stop reading).
  Result Next(std::string_view& input, WsFrame& out);

  const char* error() const { return error_; }
  // Hex of the first bytes of the frame that failed, for the report.
  const std::string& error_bytes() const { return error_bytes_; }
  // Bytes held for a split frame or an unfinished fragmented message.
  size_t buffered_bytes() const { return partial_.size() + message_.size(); }

 private:
  // Parses one frame from [data, data+size): >0 bytes consumed with `out`
  // set, 0 when incomplete, -1 on a protocol error.
  struct RawFrame {
    bool fin = false;
    WsOpcode opcode = WsOpcode::kText;
    std::string_view payload;
  };
  long Parse(const char* data, size_t size, RawFrame& raw);
  // Control frames and whole unfragmented messages pass through; fragments
  // are joined in message_. kNeedMore means "fragment stored, keep going".
  Result Deliver(const RawFrame& raw, WsFrame& out);
  Result Fail(const char* why);

  size_t max_message_bytes_;
  std::string partial_;  // a frame split across reads
  size_t partial_used_ = 0;
  std::string message_;  // fragments of a data message
  bool in_message_ = false;
  bool deliver_message_ = false;
  WsOpcode message_opcode_ = WsOpcode::kText;
  const char* error_ = nullptr;
  std::string error_bytes_;
};

}  // namespace natter::bench
