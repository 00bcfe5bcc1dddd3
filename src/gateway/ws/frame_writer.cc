#include "gateway/ws/frame_writer.h"

#include <zlib.h>

#include <cstring>
#include <limits>

namespace natter::ws {
namespace {

constexpr uint8_t kFinBit = 0x80;
constexpr uint8_t kRsv1Bit = 0x40;
constexpr size_t kCloseCodeBytes = 2;
constexpr char kDeflateTail[4] = {'\x00', '\x00', '\xff', '\xff'};

bool IsUtf8Continuation(char c) { return (static_cast<uint8_t>(c) & 0xC0) == 0x80; }

// Frees zlib's deflate state on every return path.
class DeflateStream {
 public:
  DeflateStream() = default;
  ~DeflateStream() {
    if (initialized_) deflateEnd(&stream_);
  }
  DeflateStream(const DeflateStream&) = delete;
  DeflateStream& operator=(const DeflateStream&) = delete;

  bool Init(int level, int window_bits) {
    // memLevel 8 is zlib's default; negative window bits select raw deflate.
    initialized_ = deflateInit2(&stream_, level, Z_DEFLATED, -window_bits, 8, Z_DEFAULT_STRATEGY) == Z_OK;
    return initialized_;
  }
  z_stream& get() { return stream_; }

 private:
  z_stream stream_{};
  bool initialized_ = false;
};

}  // namespace

size_t EncodeFrameHeader(Opcode op, size_t payload_len, bool compressed, uint8_t out[10]) {
  out[0] = static_cast<uint8_t>(kFinBit | (compressed ? kRsv1Bit : 0) | static_cast<uint8_t>(op));
  if (payload_len < 126) {
    out[1] = static_cast<uint8_t>(payload_len);
    return 2;
  }
  if (payload_len <= 0xFFFF) {
    out[1] = 126;
    out[2] = static_cast<uint8_t>(payload_len >> 8);
    out[3] = static_cast<uint8_t>(payload_len);
    return 4;
  }
  out[1] = 127;
  const auto length = static_cast<uint64_t>(payload_len);
  for (size_t i = 0; i < 8; ++i) out[2 + i] = static_cast<uint8_t>(length >> (56 - 8 * i));
  return 10;
}

std::string EncodeFrame(Opcode op, std::string_view payload, bool compressed) {
  uint8_t header[10];
  const size_t header_len = EncodeFrameHeader(op, payload.size(), compressed, header);
  std::string frame;
  frame.reserve(header_len + payload.size());
  frame.append(reinterpret_cast<const char*>(header), header_len);
  frame.append(payload);
  return frame;
}

std::string EncodeCloseFrame(uint16_t code, std::string_view reason) {
  if (code == close_code::kNoStatus) return EncodeFrame(Opcode::kClose, {});
  constexpr size_t kMaxReason = kMaxControlPayload - kCloseCodeBytes;
  if (reason.size() > kMaxReason) {
    // Back up to the start of the sequence the cut falls into, so the peer
    // does not see a truncated character and fail the close with 1007.
    size_t cut = kMaxReason;
    while (cut > 0 && IsUtf8Continuation(reason[cut])) --cut;
    reason = reason.substr(0, cut);
  }
  char payload[kMaxControlPayload];
  payload[0] = static_cast<char>(code >> 8);
  payload[1] = static_cast<char>(code & 0xFF);
  std::memcpy(payload + kCloseCodeBytes, reason.data(), reason.size());
  return EncodeFrame(Opcode::kClose, std::string_view(payload, kCloseCodeBytes + reason.size()));
}

std::optional<std::string> DeflateMessage(std::string_view payload, int window_bits, int level) {
  if (window_bits == 8) window_bits = 9;
  if (window_bits < 9 || window_bits > 15 || level < -1 || level > 9) return std::nullopt;
  // zlib counts input in uInt; no message natter sends comes near this.
  if (payload.size() > std::numeric_limits<uInt>::max()) return std::nullopt;
  DeflateStream deflater;
  if (!deflater.Init(level, window_bits)) return std::nullopt;
  z_stream& z = deflater.get();

  // deflateBound covers the data; the sync flush adds an empty stored block
  // (5 bytes) and the loop below grows the buffer if that was not enough.
  std::string out(deflateBound(&z, static_cast<uLong>(payload.size())) + 16, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(payload.data()));
  z.avail_in = static_cast<uInt>(payload.size());
  size_t used = 0;
  while (true) {
    z.next_out = reinterpret_cast<Bytef*>(out.data() + used);
    z.avail_out = static_cast<uInt>(out.size() - used);
    const int rc = deflate(&z, Z_SYNC_FLUSH);
    used = out.size() - z.avail_out;
    if (rc != Z_OK && rc != Z_BUF_ERROR) return std::nullopt;
    // Finished once all input is in and zlib had space left over.
    if (z.avail_in == 0 && z.avail_out != 0) break;
    if (rc == Z_BUF_ERROR && z.avail_out != 0) return std::nullopt;  // no progress
    out.resize(out.size() * 2);
  }
  out.resize(used);
  // A sync flush always ends with an empty stored block: 00 00 ff ff.
  if (out.size() < sizeof(kDeflateTail) ||
      std::memcmp(out.data() + out.size() - sizeof(kDeflateTail), kDeflateTail, sizeof(kDeflateTail)) != 0) {
    return std::nullopt;
  }
  out.resize(out.size() - sizeof(kDeflateTail));
  return out;
}

}  // namespace natter::ws
