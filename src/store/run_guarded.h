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

template <class Txn>
void RunGuarded(QueuedRead& read, Txn& txn, const char* where) {
  ScopedRequestId scope(read.request);  // its answer is posted with it too
  RunCatching(where, [&] {
    if (read.op)
      read.op(static_cast<ConversationTxn&>(txn));
    else
      read.accounts_op(static_cast<AccountsTxn&>(txn));
  });
}

}  // namespace natter
