// Runs one write operation for a store's writer thread. An operation that
// throws (a bug) fails alone, as `internal`, instead of taking the writer
// thread, and every write queued behind it, down.
#pragma once

#include <functional>
#include <optional>

#include "common/guarded.h"

#include "store/store.h"

namespace natter {

inline Status RunGuarded(const std::function<Status(StoreTxn&)>& op, StoreTxn& txn) {
  std::optional<Status> st;
  if (!RunCatching("write operation", [&] { st.emplace(op(txn)); })) return Internal("internal error");
  return std::move(*st);
}

}  // namespace natter
