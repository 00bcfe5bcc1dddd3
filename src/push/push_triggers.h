// What queues push work, run inside the transaction of the change that causes
// it, so a committed message's push is as durable as the message: a new
// message queues (or extends) its conversation's push, due after a short
// delay; reading a conversation whose messages were pushed queues a clear for
// the reader's devices.
//
// Thread-safety: pure functions over the caller's transaction.
#pragma once

#include <cstdint>

#include "store/store.h"

namespace natter::push {

struct PushTiming {
  bool enabled = false;  // a provider is configured
  // How long a message waits before its push: a device that connects within
  // it gets the message live instead.
  int64_t delay_ms = 3000;
};

// A message `m` was appended (not a retry). Its sender has read up to it, so
// their own alerts of this conversation clear too (a reply from the laptop
// takes the phone's notification away).
Status OnMessageAppended(ConversationTxn& txn, const PushTiming& timing, const Message& m, int64_t now_ms);

// `user` has read conversation `c` up to `read_seq`.
Status OnRead(ConversationTxn& txn, const PushTiming& timing, ConversationId c, UserId user, Seq read_seq,
              int64_t now_ms);

}  // namespace natter::push
