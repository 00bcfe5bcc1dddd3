// Test helper: builds client-to-server WebSocket frames, well-formed or
// deliberately broken (unmasked, reserved bits and opcodes, forced length
// encodings), and drives a MessageReader over them.
//
// Thread-safety: pure functions; each test uses its own reader.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/ws/frame.h"
#include "gateway/ws/masking.h"
#include "gateway/ws/message_reader.h"

namespace natter::ws::test_frames {

// How the payload length is written; kMinimal picks what RFC 6455 requires.
enum class LengthEncoding { kMinimal, k16Bit, k64Bit };

struct FrameSpec {
  uint8_t opcode = 1;  // raw, so reserved opcodes can be sent too
  std::string payload;
  bool fin = true;
  bool rsv1 = false;
  bool rsv2 = false;
  bool rsv3 = false;
  bool masked = true;
  MaskKey key = {0x37, 0xfa, 0x21, 0x3d};
  LengthEncoding encoding = LengthEncoding::kMinimal;
};

inline std::string BuildFrame(const FrameSpec& spec) {
  std::string frame;
  frame.push_back(static_cast<char>((spec.fin ? 0x80 : 0) | (spec.rsv1 ? 0x40 : 0) | (spec.rsv2 ? 0x20 : 0) |
                                    (spec.rsv3 ? 0x10 : 0) | (spec.opcode & 0x0F)));
  const uint8_t mask_bit = spec.masked ? 0x80 : 0;
  const uint64_t n = spec.payload.size();
  LengthEncoding encoding = spec.encoding;
  if (encoding == LengthEncoding::kMinimal) {
    encoding = n < 126 ? LengthEncoding::kMinimal : (n <= 0xFFFF ? LengthEncoding::k16Bit : LengthEncoding::k64Bit);
  }
  if (encoding == LengthEncoding::kMinimal) {
    frame.push_back(static_cast<char>(mask_bit | n));
  } else if (encoding == LengthEncoding::k16Bit) {
    frame.push_back(static_cast<char>(mask_bit | 126));
    frame.push_back(static_cast<char>(n >> 8));
    frame.push_back(static_cast<char>(n));
  } else {
    frame.push_back(static_cast<char>(mask_bit | 127));
    for (int shift = 56; shift >= 0; shift -= 8) frame.push_back(static_cast<char>(n >> shift));
  }
  if (spec.masked) {
    frame.append(reinterpret_cast<const char*>(spec.key.data()), spec.key.size());
    for (size_t i = 0; i < spec.payload.size(); ++i) {
      frame.push_back(static_cast<char>(spec.payload[i] ^ spec.key[i % 4]));
    }
  } else {
    frame.append(spec.payload);
  }
  return frame;
}

// A masked frame: the common case in tests.
inline std::string ClientFrame(Opcode op, std::string_view payload, bool fin = true, bool rsv1 = false) {
  FrameSpec spec;
  spec.opcode = static_cast<uint8_t>(op);
  spec.payload = std::string(payload);
  spec.fin = fin;
  spec.rsv1 = rsv1;
  return BuildFrame(spec);
}

// Just the header of a masked frame that declares `declared_length` payload
// bytes, for feeding a header without its payload.
inline std::string ClientHeader(Opcode op, uint64_t declared_length, bool fin = true, bool rsv1 = false) {
  std::string header;
  header.push_back(static_cast<char>((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | static_cast<uint8_t>(op)));
  if (declared_length < 126) {
    header.push_back(static_cast<char>(0x80 | declared_length));
  } else if (declared_length <= 0xFFFF) {
    header.push_back(static_cast<char>(0x80 | 126));
    header.push_back(static_cast<char>(declared_length >> 8));
    header.push_back(static_cast<char>(declared_length));
  } else {
    header.push_back(static_cast<char>(0x80 | 127));
    for (int shift = 56; shift >= 0; shift -= 8) {
      header.push_back(static_cast<char>(declared_length >> shift));
    }
  }
  header.append("\x37\xfa\x21\x3d", 4);
  return header;
}

inline std::string ClosePayload(uint16_t code, std::string_view reason = {}) {
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code & 0xFF));
  payload.append(reason);
  return payload;
}

struct ReadResult {
  std::vector<InboundMessage> messages;
  MessageReader::State last = MessageReader::State::kNeedMore;
  size_t unconsumed = 0;  // bytes of input left when the reader stopped
};

// Feeds `input` in one piece, collecting messages until the reader needs
// more or fails.
inline ReadResult ReadAll(MessageReader& reader, std::string_view input) {
  ReadResult result;
  InboundMessage message;
  while (true) {
    result.last = reader.Next(input, message);
    if (result.last != MessageReader::State::kMessage) break;
    result.messages.push_back(message);
  }
  result.unconsumed = input.size();
  return result;
}

// Feeds `input` one byte per call, the worst case for header parsing.
inline ReadResult ReadByteByByte(MessageReader& reader, std::string_view input) {
  ReadResult result;
  for (size_t i = 0; i < input.size(); ++i) {
    ReadResult step = ReadAll(reader, input.substr(i, 1));
    for (auto& m : step.messages) result.messages.push_back(std::move(m));
    result.last = step.last;
    if (step.last == MessageReader::State::kError) {
      result.unconsumed = input.size() - i - 1 + step.unconsumed;
      break;
    }
  }
  return result;
}

}  // namespace natter::ws::test_frames
