// Vocabulary of RFC 6455 frames shared by the reader and the writer: opcodes,
// close codes and the few fixed sizes the protocol imposes.
//
// Thread-safety: constants and pure functions, safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace natter::ws {

enum class Opcode : uint8_t {
  kContinuation = 0,
  kText = 1,
  kBinary = 2,
  kClose = 8,
  kPing = 9,
  kPong = 10,
};

namespace close_code {
inline constexpr uint16_t kNormal = 1000, kGoingAway = 1001, kProtocolError = 1002, kUnsupportedData = 1003,
                          kNoStatus = 1005, kInvalidPayload = 1007, kPolicyViolation = 1008, kMessageTooBig = 1009,
                          kInternalError = 1011, kServiceRestart = 1012, kTryAgainLater = 1013;
// Application codes (4000-4999) used by natter:
inline constexpr uint16_t kUnauthorized = 4001, kTokenExpired = 4002, kRateLimited = 4029, kSlowConsumer = 4030;
}  // namespace close_code

// Control frames (close, ping, pong) carry at most this many payload bytes
// (RFC 6455 5.5), so a peer can always answer them without buffering much.
inline constexpr size_t kMaxControlPayload = 125;

// Opcodes 0x8-0xF are control frames; the high bit of the nibble says so.
constexpr bool IsControl(Opcode op) { return (static_cast<uint8_t>(op) & 0x8) != 0; }

// True for a close code a peer may legally send in a Close frame (RFC 6455 7.4).
bool IsValidCloseCodeOnWire(uint16_t code);

}  // namespace natter::ws
