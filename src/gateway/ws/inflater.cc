#include "gateway/ws/inflater.h"

#include <zlib.h>

#include <new>

namespace natter::ws {
namespace {

// Inflate into a stack buffer this big before appending to the message, so
// the message string never grows beyond what the limit allows.
constexpr size_t kOutChunk = 8 * 1024;
constexpr uint8_t kTail[4] = {0x00, 0x00, 0xff, 0xff};
// Raw deflate (negative) with the largest window: it inflates data made with
// any window the client chose, so client_max_window_bits never matters here.
constexpr int kRawWindowBits = -15;

}  // namespace

void MessageInflater::StreamDeleter::operator()(z_stream_s* stream) const {
  inflateEnd(stream);
  delete stream;
}

MessageInflater::Status MessageInflater::Begin() {
  Reset();
  auto* stream = new (std::nothrow) z_stream{};
  if (stream == nullptr) return Status::kNoMemory;
  if (inflateInit2(stream, kRawWindowBits) != Z_OK) {
    delete stream;  // inflateInit2 failed, so there is nothing to inflateEnd
    return Status::kNoMemory;
  }
  stream_.reset(stream);
  return Status::kOk;
}

MessageInflater::Status MessageInflater::Feed(std::string_view compressed, size_t max_out, std::string& out) {
  if (!stream_) return Status::kCorrupt;
  return Run(reinterpret_cast<const uint8_t*>(compressed.data()), compressed.size(), max_out, out);
}

MessageInflater::Status MessageInflater::Finish(size_t max_out, std::string& out) {
  if (!stream_) return Status::kCorrupt;
  const Status status = Run(kTail, sizeof(kTail), max_out, out);
  Reset();
  return status;
}

void MessageInflater::Reset() { stream_.reset(); }

MessageInflater::Status MessageInflater::Run(const uint8_t* in, size_t len, size_t max_out, std::string& out) {
  z_stream& z = *stream_;
  z.next_in = const_cast<Bytef*>(in);   // zlib's API is not const-correct
  z.avail_in = static_cast<uInt>(len);  // callers pass small chunks
  uint8_t buffer[kOutChunk];
  while (true) {
    // Offer one byte more than the limit allows, so that reaching the limit
    // exactly is fine but going past it is seen at once.
    const size_t left = max_out - out.size();
    const size_t room = left < kOutChunk ? left + 1 : kOutChunk;
    z.next_out = buffer;
    z.avail_out = static_cast<uInt>(room);
    const int rc = inflate(&z, Z_SYNC_FLUSH);
    const size_t produced = room - z.avail_out;
    if (rc == Z_STREAM_END) {
      // The sender ended a block with BFINAL set (RFC 7692 7.2.3.4). Such
      // senders follow it with an empty non-final block so the message
      // still ends like a flushed one; read whatever follows as a new
      // stream, whose first block is that one (or our appended tail).
      if (inflateReset(&z) != Z_OK) return Status::kCorrupt;
    } else if (rc == Z_MEM_ERROR) {
      return Status::kNoMemory;
    } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return Status::kCorrupt;  // Z_DATA_ERROR and friends
    }
    if (out.size() + produced > max_out) return Status::kTooBig;
    out.append(reinterpret_cast<const char*>(buffer), produced);
    // Done when all input is used and zlib did not stop for lack of output
    // space (then it may still hold pending output).
    if (z.avail_in == 0 && z.avail_out != 0) return Status::kOk;
    // Z_BUF_ERROR without output means no progress is possible; never spin.
    if (rc == Z_BUF_ERROR && produced == 0) return Status::kOk;
  }
}

}  // namespace natter::ws
