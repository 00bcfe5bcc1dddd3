// Turns the bytes a client sends after the HTTP upgrade into whole messages
// and control frames: RFC 6455 framing (server side, so every frame must be
// masked) and RFC 7692 permessage-deflate. Every protocol violation becomes a
// close code, never an exception. The state is small and holds no buffer
// between messages, so idle connections cost almost nothing.
//
// Thread-safety: not thread-safe. One reader per connection, used only on
// that connection's thread (or strand).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/utf8.h"
#include "gateway/ws/frame.h"
#include "gateway/ws/inflater.h"
#include "gateway/ws/masking.h"

namespace natter::ws {

struct ReaderLimits {
  // Largest data message accepted, measured after defragmenting and
  // inflating: what the server would have to hold in memory.
  size_t max_message_bytes = 64 * 1024;
};

// A whole data message (defragmented, inflated) or one control frame (raw
// payload). The opcode of a data message is kText or kBinary, never
// kContinuation.
struct InboundMessage {
  Opcode opcode = Opcode::kText;
  std::string payload;
};

class MessageReader {
 public:
  enum class State { kNeedMore, kMessage, kError };

  MessageReader(ReaderLimits limits, bool deflate_negotiated);

  // Consumes bytes from the front of `input` (advancing it).
  // kMessage: `out` holds the next message or control frame; the rest of
  //   `input` is untouched, call again.
  // kNeedMore: `input` is fully consumed; partial bytes are kept inside.
  // kError: the peer broke the protocol; close_code()/reason() say why and
  //   the connection must close with that code. `out` is unspecified and
  //   further calls keep returning kError.
  State Next(std::string_view& input, InboundMessage& out);

  uint16_t close_code() const { return close_code_; }
  std::string_view reason() const { return reason_; }
  // Nothing partial held: no header bytes, frame or message in progress.
  // After an error everything is released, so this is true again.
  bool idle() const;
  // Payload and header bytes held for partial frames and messages (zlib's
  // own state while a compressed message is open is not counted).
  size_t buffered_bytes() const;

 private:
  // Header parsing; each returns false on need-more or on error (failed()).
  bool ReadHeader(std::string_view& input);
  bool FillHeader(std::string_view& input, size_t upto);
  bool CheckFirstTwoBytes();
  bool CheckLength();
  size_t ExtendedLengthBytes() const;

  // True when the frame can go straight from `input` into `out`.
  bool CanDeliverDirectly(std::string_view input) const;
  State DeliverDirectly(std::string_view& input, InboundMessage& out);
  bool BeginFrame();
  bool ConsumePayload(std::string_view chunk);
  bool InflateChunk(std::string_view masked);
  State FinishFrame(InboundMessage& out);
  bool CheckControlFrame(const InboundMessage& frame);
  bool MapInflateStatus(MessageInflater::Status status);
  // Validates the text bytes appended to message_ since `from`.
  bool ValidateTextFrom(size_t from);
  size_t CompressedLimit() const;

  // Records the error, releases every buffer and returns false.
  bool Fail(uint16_t code, std::string_view reason);
  bool failed() const { return close_code_ != 0; }

  static constexpr size_t kMaxHeaderBytes = 14;  // 2 + 8 length + 4 mask

  // Not const, so a connection can replace its reader by assignment.
  ReaderLimits limits_;
  bool deflate_;

  // Current frame header, collected byte by byte if it arrives split.
  uint8_t header_[kMaxHeaderBytes];
  uint8_t header_len_ = 0;
  bool in_payload_ = false;  // header done, payload bytes still to come
  Opcode frame_opcode_ = Opcode::kContinuation;
  bool frame_fin_ = false;
  bool frame_rsv1_ = false;
  uint8_t mask_phase_ = 0;
  MaskKey mask_{};
  uint64_t frame_length_ = 0;
  uint64_t frame_remaining_ = 0;

  // Data message being assembled from fragments (or from a frame that
  // arrived in pieces). Control frames use control_ so they can interleave.
  bool in_message_ = false;
  bool message_compressed_ = false;
  Opcode message_opcode_ = Opcode::kText;
  size_t message_wire_bytes_ = 0;  // compressed bytes received so far
  std::string message_;
  std::string control_;
  Utf8Validator utf8_;
  MessageInflater inflater_;

  uint16_t close_code_ = 0;
  std::string_view reason_;  // always points at a string literal
};

}  // namespace natter::ws
