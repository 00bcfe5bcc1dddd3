// One I/O thread and its event loop. Connections are pinned to one worker for
// life; the worker's registry maps users to the connections it holds, so
// fan-out needs no locks: an event is posted to each worker, and each worker
// looks up only its own connections.
// Thread-safety: registry_ and read_buffer() only on this worker's thread;
// context() and Post from anywhere.
#pragma once

#include <functional>
#include <memory>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/executor.h"
#include "natter/model.h"

namespace boost::asio {
class io_context;
}

namespace natter::gateway {

class EventTarget;
class WsConnection;

class Worker {
 public:
  explicit Worker(int index);
  ~Worker();

  boost::asio::io_context& context();
  // The same loop as an Executor: where store answers for this worker's
  // connections run.
  Executor& executor();
  // Runs `task` on this worker's thread.
  void Post(std::function<void()> task) { executor().Post(std::move(task)); }
  int index() const { return index_; }
  void Start();
  void Stop();  // stops the loop; pending handlers are dropped
  void Join();

  // A scratch buffer for socket reads, shared by every connection on this
  // worker, so an idle connection holds no read buffer of its own.
  char* read_buffer() { return read_buffer_.get(); }
  static constexpr size_t kReadBufferSize = size_t{64} * 1024;

  void AddConnection(UserId user, EventTarget* conn);
  void RemoveConnection(UserId user, EventTarget* conn);
  const std::vector<EventTarget*>* ConnectionsOf(UserId user) const;
  // Every live connection, authenticated or not: ticked once a second for
  // timeouts, and closed at shutdown.
  void Attach(WsConnection* conn) { live_.insert(conn); }
  void Detach(WsConnection* conn) { live_.erase(conn); }
  // Sends every connection a close frame (server shutting down).
  void CloseAll(uint16_t code, const char* reason);
  // Sends a close frame to a share of the connections not yet closing: one
  // in `parts` (a drain spreads its closes over a window; `parts` is the
  // number of calls left, so the last call closes every one). Returns how
  // many stay open.
  size_t CloseShare(size_t parts, uint16_t code, const char* reason);
  // Sends a resync notice to every authenticated connection.
  void TellAllToResync(const char* reason);
  size_t connection_count() const { return live_.size(); }
  // Writes out what `conn` queued within kPresenceWaitMs: presence changes
  // wait there, so those a socket gets close together leave in one write
  // (a connect storm tells each user of dozens of contacts in a few seconds).
  void FlushSoon(WsConnection* conn);
  static constexpr int kPresenceWaitMs = 250;
  // Another wait than kPresenceWaitMs (tests that must not race the timer).
  void set_presence_wait_ms(int ms) { presence_wait_ms_ = ms; }

 private:
  void Tick();
  void FlushWaiting();

  // The event loop and what belongs to it (Asio stays out of this header, so
  // the files that only fan out do not compile it).
  struct Loop;

  const int index_;
  std::unique_ptr<Loop> loop_;
  std::unique_ptr<char[]> read_buffer_;
  std::unordered_map<UserId, std::vector<EventTarget*>> registry_;
  std::unordered_set<WsConnection*> live_;
  std::vector<WsConnection*> flush_soon_;  // FlushSoon's, until the timer fires
  int presence_wait_ms_ = kPresenceWaitMs;
  double drain_carry_ = 0;  // CloseShare's fraction of a connection still owed
  std::thread thread_;
};

}  // namespace natter::gateway
