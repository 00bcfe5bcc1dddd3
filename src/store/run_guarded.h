// Runs one write operation for a store's writer thread. An operation that
// throws (a bug) fails alone, as `internal`, instead of taking the writer
// thread, and every write queued behind it, down.
#pragma once

#include <spdlog/spdlog.h>

#include <exception>
#include <functional>

#include "store/store.h"

namespace natter {

inline Status RunGuarded(const std::function<Status(StoreTxn&)>& op, StoreTxn& txn) {
  try {
    return op(txn);
  } catch (const std::exception& e) {
    spdlog::error("write operation threw: {}", e.what());
    return Internal("internal error");
  }
}

}  // namespace natter
