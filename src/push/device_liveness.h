// Which device sessions have a foreground connection, as the push worker
// sees it from any node: a session is live while at least one of its
// WebSocket connections on this node is open and its app did not say it went
// to the background (app.state). Each change of a session's state is stored
// (its bit for this node, and when it was last heard from while live), one
// write at a time per session so they cannot land out of order. Stored for
// every session, so a device registered later (on any node) finds it.
//
// Thread-safety: every method may be called from any thread (one mutex);
// store answers run on the io_context given at construction.
#pragma once

#include <boost/asio/io_context.hpp>
#include <unordered_map>

#include "common/asio_executor.h"
#include "common/mutex.h"
#include "natter/clock.h"
#include "store/store.h"

namespace natter::push {

class DeviceLiveness {
 public:
  DeviceLiveness(Store& store, const Clock& clock, boost::asio::io_context& answers, int node_id);

  // A connection of `session` opened (foreground until told otherwise) or
  // closed; `last_heard_ms`: wall time the client last sent anything on it
  // (a connection that died silently saw nothing after that).
  void Connected(SessionId session, uint64_t connection);
  void Disconnected(SessionId session, uint64_t connection, int64_t last_heard_ms);
  // The app on that connection's device came to the foreground or left it.
  // False when the connection is not known here.
  bool SetForeground(SessionId session, uint64_t connection, bool foreground);
  // Writes again what failed to be stored (the push worker's keeper calls it
  // every few seconds).
  void RetryFailed();

 private:
  struct State {
    std::unordered_map<uint64_t, bool> connections;  // connection -> foreground
    bool stored_live = false;
    bool writing = false;
    int64_t last_heard_ms = 0;  // of the foreground connections that closed
    bool failed = false;        // the last write failed: stored_live may be wrong
  };
  bool LiveLocked(const State& s) const;
  // Stores the session's state if it differs from what was stored and no
  // write is under way; forgets sessions with nothing left to say.
  void SyncLocked(SessionId session) REQUIRES(mu_);
  void Written(SessionId session, bool live, bool ok) EXCLUDES(mu_);

  Store& store_;
  const Clock& clock_;
  AsioExecutor executor_;
  const int node_id_;
  Mutex mu_;
  std::unordered_map<SessionId, State> sessions_ GUARDED_BY(mu_);
};

}  // namespace natter::push
