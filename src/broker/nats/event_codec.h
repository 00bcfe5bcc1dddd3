// The wire form of an Event between nodes: a compact binary record, so the
// JSON payload is carried as opaque bytes and never re-serialised.
//
// Layout (integers little-endian; varints are LEB128, signed ones zigzagged):
//   'N' version(1) flags(bit 0: has payload, bit 1: joins, bit 2: presence)
//   id(u64, 8 bytes)
//   conversation_id seq revoke_session (signed varints)
//   [presence_of (signed varint)]                      if flags bit 2
//   recipient count (varint), then per recipient: user pts (signed varints)
//   [payload length (varint) payload bytes]          if flags bit 0
// Nothing may follow. origin_connection is never sent: connection ids mean
// something only on the node that made them, so a decoded event has origin 0.
//
// Decoding trusts no length from the wire: every count is checked against the
// bytes that remain and against fixed limits before anything is allocated.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "broker/broker.h"
#include "natter/status.h"

namespace natter::nats {

// Bounds on what one encoded event may hold, both ways.
inline constexpr size_t kMaxWireRecipients = 1'000'000;
inline constexpr size_t kMaxWirePayloadBytes = 8 * 1024 * 1024;

struct WireEvent {
  // Chosen by the publishing node; receivers drop an id they have just seen
  // (the same event can reach a node on several subjects).
  uint64_t id = 0;
  Event event;
};

// The encoded event; kTooLarge past the limits above.
Result<std::string> EncodeEvent(uint64_t id, const Event& event);

// The event in `bytes`; kBadRequest for anything truncated, malformed or
// over the limits (the message says which). Never throws on bad input.
Result<WireEvent> DecodeEvent(std::string_view bytes);

}  // namespace natter::nats
