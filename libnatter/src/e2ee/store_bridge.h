// Hands a ProtocolStore to libsignal-protocol-c as its five stores, with the
// library's return conventions: 1 found / 0 not found for sessions and sender
// keys, SG_ERR_INVALID_KEY_ID for a missing prekey, never success without an
// output. A store that throws makes the call fail (negative), never crash.
#pragma once

#include <signal/signal_protocol.h>

#include <memory>

#include "e2ee/protocol_store.h"

namespace natter::e2ee {

struct StoreContextFree {
  void operator()(signal_protocol_store_context* c) const { signal_protocol_store_context_destroy(c); }
};
using StoreContext = std::unique_ptr<signal_protocol_store_context, StoreContextFree>;

// What a store callback answers when the store failed (threw): below the
// library's own codes, so a caller tells it apart.
inline constexpr int kStoreFailed = -10001;

// `store` must outlive the result.
StoreContext MakeStoreContext(signal_context* context, ProtocolStore& store);

// The protocol's address of `a` (its name pointer borrows `a.name`).
signal_protocol_address SignalAddress(const Address& a);

}  // namespace natter::e2ee
