// The WebSocket frame reader on arbitrary client bytes: with and without
// permessage-deflate, fed whole or in pieces. Every input must end in a
// message, a wait for more, or a close code: never a crash, a leak or
// unbounded memory.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gateway/ws/message_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  // The first byte chooses the set-up: deflate or not, and the piece size.
  const bool deflate = data[0] & 1;
  const size_t piece = 1 + (data[0] >> 1);
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  natter::ws::MessageReader reader(natter::ws::ReaderLimits{4096}, deflate);
  natter::ws::InboundMessage message;
  while (!input.empty()) {
    std::string_view chunk = input.substr(0, piece);
    input.remove_prefix(chunk.size());
    for (;;) {
      auto state = reader.Next(chunk, message);
      if (state == natter::ws::MessageReader::State::kError) return 0;
      if (state == natter::ws::MessageReader::State::kNeedMore) break;
      if (message.payload.size() > 4096 && message.opcode != natter::ws::Opcode::kClose) __builtin_trap();
    }
    // Never more than a message in progress, a control frame inside it, and a header.
    if (reader.buffered_bytes() > 4096 + 125 + 14) __builtin_trap();
  }
  return 0;
}
