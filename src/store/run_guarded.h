// Runs one queued operation for a store thread, on a transaction that serves
// both kinds of work (conversations and accounts). An operation that throws
// (a bug) fails alone, as `internal`, instead of taking the thread, and every
// operation queued behind it, down.
#pragma once

#include <optional>

#include "common/guarded.h"
#include "store/store.h"

namespace natter {

template <class Txn>
Status RunGuarded(QueuedWrite& write, Txn& txn) {
  ScopedRequestId scope(write.request);
  std::optional<Status> st;
  bool returned = RunCatching("write operation", [&] {
    st.emplace(write.op ? write.op(static_cast<ConversationTxn&>(txn))
                        : write.accounts_op(static_cast<AccountsTxn&>(txn)));
  });
  if (!returned || !st) return Internal("internal error");
  return std::move(*st);
}

// The read's reply, for the store to run once what it saw is durable; empty
// when the op threw.
template <class Txn>
ReadReply RunGuarded(QueuedRead& read, Txn& txn, const char* where) {
  ScopedRequestId scope(read.request);
  ReadReply reply;
  RunCatching(where, [&] {
    reply = read.op ? read.op(static_cast<ConversationTxn&>(txn)) : read.accounts_op(static_cast<AccountsTxn&>(txn));
  });
  return reply;
}

// Runs a read's reply (its answer's delivery) with its request id.
inline void Reply(const RequestId& request, const ReadReply& reply, bool durable) {
  if (!reply) return;
  ScopedRequestId scope(request);  // its answer is posted with it
  RunCatching("store read reply", [&] { reply(durable); });
}

}  // namespace natter
