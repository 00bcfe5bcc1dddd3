// Synchronous calls over the Store's callbacks, for threads that may block
// (the push worker, tests): each waits at most 60 s for its answer, then
// answers `unavailable` (the store keeps the shared promise alive).
#pragma once

#include <chrono>
#include <future>
#include <memory>

#include "store/store.h"

namespace natter {

// Starts a store call with a `done(Result<T>)` and waits (at most 60 s) for it.
template <class T, class Start>
Result<T> Await(Start start) {
  auto promise = std::make_shared<std::promise<Result<T>>>();
  auto future = promise->get_future();
  start([promise](Result<T> r) { promise->set_value(std::move(r)); });
  if (future.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
    return Unavailable("the store did not answer in time");
  }
  return future.get();
}

// Runs `fn` as one write (on `key.partition`) and waits for its durable result.
template <class T, class Fn>
Result<T> WriteSync(Store& store, WriteKey key, Fn fn) {
  return Await<T>([&](auto done) {
    store.WriteResult<T>(key, InlineExecutor(), std::move(fn), [done](Result<T> r, CommitTurn) { done(std::move(r)); });
  });
}

// The same on the accounts partition.
template <class T, class Fn>
Result<T> WriteAccountsSync(Store& store, Fn fn) {
  return Await<T>([&](auto done) { store.WriteAccountsResult<T>(InlineExecutor(), std::move(fn), done); });
}

template <class T, class Fn>
Result<T> ReadSync(Store& store, int partition, Fn fn) {
  return Await<T>([&](auto done) { store.ReadResult<T>(partition, InlineExecutor(), std::move(fn), done); });
}

template <class T, class Fn>
Result<T> ReadAccountsSync(Store& store, Fn fn) {
  return Await<T>([&](auto done) { store.ReadAccountsResult<T>(InlineExecutor(), std::move(fn), done); });
}

}  // namespace natter
