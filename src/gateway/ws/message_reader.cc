#include "gateway/ws/message_reader.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace natter::ws {
namespace {

constexpr uint8_t kFinBit = 0x80;
constexpr uint8_t kRsv1Bit = 0x40;
constexpr uint8_t kRsv2And3Bits = 0x30;
constexpr uint8_t kOpcodeBits = 0x0F;
constexpr uint8_t kMaskBit = 0x80;
constexpr uint8_t kLength7Bits = 0x7F;
constexpr uint8_t kLength16 = 126;
constexpr uint8_t kLength64 = 127;
constexpr size_t kMaskKeyBytes = 4;
// Compressed payload is unmasked into a stack buffer of this size before it
// goes to zlib; the masked bytes in the caller's input must stay untouched.
constexpr size_t kUnmaskChunk = 4 * 1024;

bool IsKnownOpcode(uint8_t op) { return op <= 2 || (op >= 8 && op <= 10); }

// clear() keeps capacity; swapping with a fresh string really frees it, and
// idle connections must not keep message-sized buffers around.
void Release(std::string& s) { std::string().swap(s); }

}  // namespace

MessageReader::MessageReader(ReaderLimits limits, bool deflate_negotiated)
    : limits_(limits), deflate_(deflate_negotiated) {}

bool MessageReader::idle() const { return !in_payload_ && header_len_ == 0 && !in_message_; }

size_t MessageReader::buffered_bytes() const { return header_len_ + message_.size() + control_.size(); }

MessageReader::State MessageReader::Next(std::string_view& input, InboundMessage& out) {
  if (failed()) return State::kError;
  while (true) {
    if (!in_payload_) {
      if (!ReadHeader(input)) return failed() ? State::kError : State::kNeedMore;
      in_payload_ = true;
      if (CanDeliverDirectly(input)) return DeliverDirectly(input, out);
      if (!BeginFrame()) return State::kError;
    }
    const size_t take = static_cast<size_t>(std::min<uint64_t>(frame_remaining_, input.size()));
    if (take > 0 && !ConsumePayload(input.substr(0, take))) return State::kError;
    input.remove_prefix(take);
    frame_remaining_ -= take;
    if (frame_remaining_ > 0) return State::kNeedMore;  // input is exhausted
    const State state = FinishFrame(out);
    // kNeedMore from FinishFrame means "fragment done, message goes on":
    // keep parsing whatever input is left.
    if (state != State::kNeedMore) return state;
  }
}

// ---- Header ---------------------------------------------------------------

bool MessageReader::FillHeader(std::string_view& input, size_t upto) {
  const size_t take = std::min(upto - header_len_, input.size());
  if (take == 0) return header_len_ == upto;  // input.data() may be null
  std::memcpy(header_ + header_len_, input.data(), take);
  header_len_ = static_cast<uint8_t>(header_len_ + take);
  input.remove_prefix(take);
  return header_len_ == upto;
}

bool MessageReader::ReadHeader(std::string_view& input) {
  // The checks run as soon as the bytes they need are in, so a bad frame is
  // refused before its length, mask or payload has even arrived.
  if (header_len_ < 2) {
    if (!FillHeader(input, 2)) return false;
    if (!CheckFirstTwoBytes()) return false;
  }
  const size_t length_end = 2 + ExtendedLengthBytes();
  if (header_len_ < length_end && !FillHeader(input, length_end)) return false;
  // May run twice if input ran out right here; it only reads state.
  if (header_len_ == length_end && !CheckLength()) return false;
  if (!FillHeader(input, length_end + kMaskKeyBytes)) return false;

  std::memcpy(mask_.data(), header_ + length_end, kMaskKeyBytes);
  mask_phase_ = 0;
  frame_remaining_ = frame_length_;
  header_len_ = 0;
  return true;
}

bool MessageReader::CheckFirstTwoBytes() {
  const uint8_t b0 = header_[0];
  const uint8_t b1 = header_[1];
  const bool fin = (b0 & kFinBit) != 0;
  const bool rsv1 = (b0 & kRsv1Bit) != 0;
  const uint8_t op = b0 & kOpcodeBits;
  if ((b0 & kRsv2And3Bits) != 0) {
    return Fail(close_code::kProtocolError, "reserved bit RSV2 or RSV3 set");
  }
  if (!IsKnownOpcode(op)) return Fail(close_code::kProtocolError, "reserved opcode");
  // RFC 6455 5.1: a server must close on an unmasked client frame, since
  // masking is what protects intermediaries from cache poisoning.
  if ((b1 & kMaskBit) == 0) return Fail(close_code::kProtocolError, "client frame not masked");

  const auto opcode = static_cast<Opcode>(op);
  if (IsControl(opcode)) {
    if (!fin) return Fail(close_code::kProtocolError, "fragmented control frame");
    // The 7-bit length already tells: 126 and 127 announce longer payloads.
    if ((b1 & kLength7Bits) > kMaxControlPayload) {
      return Fail(close_code::kProtocolError, "control frame payload over 125 bytes");
    }
    if (rsv1) return Fail(close_code::kProtocolError, "RSV1 set on a control frame");
  } else if (opcode == Opcode::kContinuation) {
    if (!in_message_) {
      return Fail(close_code::kProtocolError, "continuation frame with no message started");
    }
    // RFC 7692 6.1: only the first frame of a message carries the bit.
    if (rsv1) return Fail(close_code::kProtocolError, "RSV1 set on a continuation frame");
  } else {
    if (in_message_) {
      return Fail(close_code::kProtocolError, "new data frame inside a fragmented message");
    }
    if (rsv1 && !deflate_) {
      return Fail(close_code::kProtocolError, "RSV1 set but permessage-deflate not negotiated");
    }
  }
  frame_opcode_ = opcode;
  frame_fin_ = fin;
  frame_rsv1_ = rsv1;
  return true;
}

size_t MessageReader::ExtendedLengthBytes() const {
  const uint8_t length7 = header_[1] & kLength7Bits;
  if (length7 == kLength16) return 2;
  if (length7 == kLength64) return 8;
  return 0;
}

bool MessageReader::CheckLength() {
  // Non-minimal length encodings are accepted: they cost nothing to decode
  // and rejecting them protects nobody.
  const uint8_t length7 = header_[1] & kLength7Bits;
  uint64_t length = length7;
  if (length7 == kLength16) {
    length = (uint64_t{header_[2]} << 8) | header_[3];
  } else if (length7 == kLength64) {
    length = 0;
    for (size_t i = 2; i < 10; ++i) length = (length << 8) | header_[i];
    if ((length >> 63) != 0) {
      return Fail(close_code::kProtocolError, "64-bit payload length with the top bit set");
    }
  }
  frame_length_ = length;
  if (IsControl(frame_opcode_)) return true;

  const bool continuation = frame_opcode_ == Opcode::kContinuation;
  const bool compressed = continuation ? message_compressed_ : frame_rsv1_;
  // Refuse from the declared length alone, before buffering any payload.
  if (compressed) {
    const size_t so_far = continuation ? message_wire_bytes_ : 0;
    if (length > CompressedLimit() - so_far) {
      return Fail(close_code::kMessageTooBig, "compressed message exceeds the size limit");
    }
  } else {
    const size_t so_far = continuation ? message_.size() : 0;
    if (length > limits_.max_message_bytes - so_far) {
      return Fail(close_code::kMessageTooBig, "message exceeds the size limit");
    }
  }
  return true;
}

size_t MessageReader::CompressedLimit() const {
  // Incompressible data grows a little when deflated (stored blocks cost 5
  // bytes per 64 KiB), so the wire may carry slightly more than the limit;
  // the inflated size is what is really enforced. This bound only stops a
  // peer from streaming endless empty deflate blocks.
  const size_t max = limits_.max_message_bytes;
  const size_t slack = max / 16 + 1024;
  return max > std::numeric_limits<size_t>::max() - slack ? std::numeric_limits<size_t>::max() : max + slack;
}

// ---- Payload --------------------------------------------------------------

bool MessageReader::CanDeliverDirectly(std::string_view input) const {
  return frame_fin_ && frame_opcode_ != Opcode::kContinuation && !frame_rsv1_ && input.size() >= frame_remaining_;
}

MessageReader::State MessageReader::DeliverDirectly(std::string_view& input, InboundMessage& out) {
  // The common case (a small unfragmented message within one read): unmask
  // from the caller's input straight into `out`, with no buffer in between.
  const auto length = static_cast<size_t>(frame_remaining_);
  out.opcode = frame_opcode_;
  out.payload.resize(length);
  ApplyMask(input.data(), out.payload.data(), length, mask_, 0);
  input.remove_prefix(length);
  frame_remaining_ = 0;
  in_payload_ = false;
  if (IsControl(frame_opcode_)) return CheckControlFrame(out) ? State::kMessage : State::kError;
  if (frame_opcode_ == Opcode::kText && !IsValidUtf8(out.payload)) {
    Fail(close_code::kInvalidPayload, "text message is not valid UTF-8");
    return State::kError;
  }
  return State::kMessage;
}

bool MessageReader::BeginFrame() {
  if (IsControl(frame_opcode_)) {
    control_.clear();
    return true;
  }
  if (frame_opcode_ != Opcode::kContinuation) {
    in_message_ = true;
    message_opcode_ = frame_opcode_;
    message_compressed_ = frame_rsv1_;
    message_wire_bytes_ = 0;
    message_.clear();
    utf8_.Reset();
    if (message_compressed_ && !MapInflateStatus(inflater_.Begin())) return false;
  }
  if (message_compressed_) message_wire_bytes_ += static_cast<size_t>(frame_length_);
  return true;
}

bool MessageReader::ConsumePayload(std::string_view chunk) {
  std::string& target = IsControl(frame_opcode_) ? control_ : message_;
  if (&target == &message_ && message_compressed_) return InflateChunk(chunk);
  const size_t old_size = target.size();
  target.resize(old_size + chunk.size());
  mask_phase_ = ApplyMask(chunk.data(), target.data() + old_size, chunk.size(), mask_, mask_phase_);
  // Validate each piece as it lands, so invalid text fails before the rest
  // of the message is even sent.
  return &target == &control_ || ValidateTextFrom(old_size);
}

bool MessageReader::InflateChunk(std::string_view masked) {
  char plain[kUnmaskChunk];
  while (!masked.empty()) {
    const size_t n = std::min(masked.size(), sizeof(plain));
    mask_phase_ = ApplyMask(masked.data(), plain, n, mask_, mask_phase_);
    masked.remove_prefix(n);
    const size_t old_size = message_.size();
    const MessageInflater::Status status =
        inflater_.Feed(std::string_view(plain, n), limits_.max_message_bytes, message_);
    if (!MapInflateStatus(status) || !ValidateTextFrom(old_size)) return false;
  }
  return true;
}

MessageReader::State MessageReader::FinishFrame(InboundMessage& out) {
  in_payload_ = false;
  if (IsControl(frame_opcode_)) {
    out.opcode = frame_opcode_;
    out.payload.assign(control_);
    Release(control_);
    return CheckControlFrame(out) ? State::kMessage : State::kError;
  }
  if (!frame_fin_) return State::kNeedMore;

  if (message_compressed_) {
    const size_t old_size = message_.size();
    if (!MapInflateStatus(inflater_.Finish(limits_.max_message_bytes, message_)) || !ValidateTextFrom(old_size)) {
      return State::kError;
    }
  }
  if (message_opcode_ == Opcode::kText && !utf8_.Complete()) {
    Fail(close_code::kInvalidPayload, "text message ends inside a UTF-8 sequence");
    return State::kError;
  }
  out.opcode = message_opcode_;
  out.payload.swap(message_);
  Release(message_);
  in_message_ = false;
  message_compressed_ = false;
  message_wire_bytes_ = 0;
  return State::kMessage;
}

bool MessageReader::ValidateTextFrom(size_t from) {
  if (message_opcode_ != Opcode::kText) return true;
  if (!utf8_.Feed(std::string_view(message_).substr(from))) {
    return Fail(close_code::kInvalidPayload, "text message is not valid UTF-8");
  }
  return true;
}

bool MessageReader::CheckControlFrame(const InboundMessage& frame) {
  if (frame.opcode != Opcode::kClose || frame.payload.empty()) return true;
  // RFC 6455 5.5.1: a close body is empty or starts with a 2-byte code.
  if (frame.payload.size() == 1) {
    return Fail(close_code::kProtocolError, "close frame with a 1-byte payload");
  }
  const auto code =
      static_cast<uint16_t>((static_cast<uint8_t>(frame.payload[0]) << 8) | static_cast<uint8_t>(frame.payload[1]));
  if (!IsValidCloseCodeOnWire(code)) {
    return Fail(close_code::kProtocolError, "invalid close code");
  }
  if (!IsValidUtf8(std::string_view(frame.payload).substr(2))) {
    return Fail(close_code::kInvalidPayload, "close reason is not valid UTF-8");
  }
  return true;
}

bool MessageReader::MapInflateStatus(MessageInflater::Status status) {
  switch (status) {
    case MessageInflater::Status::kOk:
      return true;
    case MessageInflater::Status::kTooBig:
      return Fail(close_code::kMessageTooBig, "inflated message exceeds the size limit");
    case MessageInflater::Status::kCorrupt:
      return Fail(close_code::kInvalidPayload, "corrupt permessage-deflate data");
    case MessageInflater::Status::kNoMemory:
      return Fail(close_code::kInternalError, "out of memory while inflating");
  }
  return Fail(close_code::kInternalError, "unknown inflater status");
}

bool MessageReader::Fail(uint16_t code, std::string_view reason) {
  close_code_ = code;
  reason_ = reason;
  Release(message_);
  Release(control_);
  inflater_.Reset();
  header_len_ = 0;
  in_payload_ = false;
  in_message_ = false;
  return false;
}

}  // namespace natter::ws
