#include "bench/ws_codec.h"

#include <cstring>

namespace natter::bench {

void EncodeClientFrame(WsOpcode op, std::string_view payload, uint32_t mask_key, std::string& out) {
  const size_t n = payload.size();
  const size_t start = out.size();
  const size_t header = 2 + (n < 126 ? 0 : n <= 0xFFFF ? 2 : 8) + 4;
  out.resize(start + header + n);
  auto* p = reinterpret_cast<uint8_t*>(out.data() + start);
  *p++ = 0x80 | static_cast<uint8_t>(op);
  if (n < 126) {
    *p++ = 0x80 | static_cast<uint8_t>(n);
  } else if (n <= 0xFFFF) {
    *p++ = 0x80 | 126;
    *p++ = static_cast<uint8_t>(n >> 8);
    *p++ = static_cast<uint8_t>(n);
  } else {
    *p++ = 0x80 | 127;
    for (int i = 7; i >= 0; --i) *p++ = static_cast<uint8_t>(static_cast<uint64_t>(n) >> (8 * i));
  }
  const uint8_t key[4] = {static_cast<uint8_t>(mask_key >> 24), static_cast<uint8_t>(mask_key >> 16),
                          static_cast<uint8_t>(mask_key >> 8), static_cast<uint8_t>(mask_key)};
  std::memcpy(p, key, 4);
  p += 4;
  const auto* src = reinterpret_cast<const uint8_t*>(payload.data());
  for (size_t i = 0; i < n; ++i) p[i] = src[i] ^ key[i & 3];
}

FrameDecoder::Result FrameDecoder::Fail(const char* why) {
  error_ = why;
  std::string().swap(partial_);
  std::string().swap(message_);
  return Result::kError;
}

long FrameDecoder::Parse(const char* data, size_t size, RawFrame& raw) {
  if (size < 2) return 0;
  auto fail = [&](const char* why) {
    static const char kHex[] = "0123456789abcdef";
    for (size_t i = 0; i < size && i < 24; ++i) {
      error_bytes_ += kHex[static_cast<uint8_t>(data[i]) >> 4];
      error_bytes_ += kHex[static_cast<uint8_t>(data[i]) & 15];
    }
    error_ = why;
    return -1L;
  };
  const auto* p = reinterpret_cast<const uint8_t*>(data);
  if (p[0] & 0x70) return fail("reserved bits set without an extension");
  if (p[1] & 0x80) return fail("masked frame from the server");
  raw.fin = (p[0] & 0x80) != 0;
  raw.opcode = static_cast<WsOpcode>(p[0] & 0x0F);
  uint64_t len = p[1] & 0x7F;
  size_t pos = 2;
  if (len == 126) {
    if (size < 4) return 0;
    len = (uint64_t{p[2]} << 8) | p[3];
    pos = 4;
  } else if (len == 127) {
    if (size < 10) return 0;
    len = 0;
    for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
    pos = 10;
  }
  switch (raw.opcode) {
    case WsOpcode::kContinuation:
    case WsOpcode::kText:
    case WsOpcode::kBinary:
      break;
    case WsOpcode::kClose:
    case WsOpcode::kPing:
    case WsOpcode::kPong:
      if (len > 125 || !raw.fin) return fail("bad control frame");
      break;
    default:
      return fail("reserved opcode");
  }
  if (len > max_message_bytes_) return fail("frame too large");
  if (size - pos < len) return 0;
  raw.payload = std::string_view(data + pos, static_cast<size_t>(len));
  return static_cast<long>(pos + len);
}

FrameDecoder::Result FrameDecoder::Deliver(const RawFrame& raw, WsFrame& out) {
  const bool control = (static_cast<uint8_t>(raw.opcode) & 0x8) != 0;
  if (control) {
    out.opcode = raw.opcode;
    out.payload = raw.payload;
    return Result::kFrame;
  }
  if (raw.opcode == WsOpcode::kContinuation) {
    if (!in_message_) {
      error_bytes_ =
          "continuation of " + std::to_string(raw.payload.size()) + " bytes: " + std::string(raw.payload.substr(0, 40));
      return Fail("continuation without a message");
    }
    if (message_.size() + raw.payload.size() > max_message_bytes_) return Fail("message too large");
    message_.append(raw.payload);
    if (!raw.fin) return Result::kNeedMore;
    in_message_ = false;
    out.opcode = message_opcode_;
    out.payload = message_;
    deliver_message_ = true;  // released at the next call
    return Result::kFrame;
  }
  if (in_message_) return Fail("new message inside a fragmented one");
  if (raw.fin) {
    out.opcode = raw.opcode;
    out.payload = raw.payload;
    return Result::kFrame;
  }
  in_message_ = true;
  message_opcode_ = raw.opcode;
  message_.assign(raw.payload);
  return Result::kNeedMore;
}

FrameDecoder::Result FrameDecoder::Next(std::string_view& input, WsFrame& out) {
  if (error_) return Result::kError;
  if (deliver_message_) {
    deliver_message_ = false;
    std::string().swap(message_);
  }
  for (;;) {
    if (partial_used_ > 0) {
      partial_.erase(0, partial_used_);
      partial_used_ = 0;
      if (partial_.empty()) std::string().swap(partial_);  // idle: hold nothing
    }
    RawFrame raw;
    long n;
    if (partial_.empty()) {
      if (input.empty()) return Result::kNeedMore;
      n = Parse(input.data(), input.size(), raw);
      if (n < 0) return Fail(error_);
      if (n == 0) {
        partial_.assign(input);
        input = {};
        return Result::kNeedMore;
      }
      input.remove_prefix(static_cast<size_t>(n));
    } else {
      partial_.append(input);
      input = {};
      n = Parse(partial_.data(), partial_.size(), raw);
      if (n < 0) return Fail(error_);
      if (n == 0) return Result::kNeedMore;
      partial_used_ = static_cast<size_t>(n);
    }
    Result r = Deliver(raw, out);
    if (r != Result::kNeedMore) return r;
  }
}

}  // namespace natter::bench
