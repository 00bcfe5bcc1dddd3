#include "push/device_liveness.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace natter::push {

DeviceLiveness::DeviceLiveness(Store& store, const Clock& clock, boost::asio::io_context& answers, int node_id)
    : store_(store), clock_(clock), executor_(answers), node_id_(node_id) {}

bool DeviceLiveness::LiveLocked(const State& s) const {
  return std::any_of(s.connections.begin(), s.connections.end(), [](const auto& c) { return c.second; });
}

void DeviceLiveness::Connected(SessionId session, uint64_t connection) {
  MutexLock lock(mu_);
  sessions_[session].connections[connection] = true;
  SyncLocked(session);
}

void DeviceLiveness::Disconnected(SessionId session, uint64_t connection, int64_t last_heard_ms) {
  MutexLock lock(mu_);
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  auto c = it->second.connections.find(connection);
  if (c == it->second.connections.end()) return;
  if (c->second) it->second.last_heard_ms = std::max(it->second.last_heard_ms, last_heard_ms);
  it->second.connections.erase(c);
  SyncLocked(session);
}

bool DeviceLiveness::SetForeground(SessionId session, uint64_t connection, bool foreground) {
  MutexLock lock(mu_);
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return false;
  auto c = it->second.connections.find(connection);
  if (c == it->second.connections.end()) return false;
  // Going to the background ends what the app showed: from now on pushes.
  if (c->second && !foreground) it->second.last_heard_ms = std::max(it->second.last_heard_ms, clock_.NowMs());
  c->second = foreground;
  SyncLocked(session);
  return true;
}

void DeviceLiveness::SyncLocked(SessionId session) {
  auto it = sessions_.find(session);
  State& s = it->second;
  if (s.writing) return;  // Written() looks again
  bool live = LiveLocked(s);
  if (live == s.stored_live && !s.failed) {
    if (s.connections.empty()) sessions_.erase(it);
    return;
  }
  s.writing = true;
  int64_t heard = s.last_heard_ms;
  store_.WriteAccounts(
      executor_,
      [session, node = node_id_, live, heard](AccountsTxn& txn) { return txn.SetPushLive(session, node, live, heard); },
      [this, session, live](Status st) {
        if (!st.ok()) spdlog::warn("push: storing whether session {} is live: {}", session, st.error().message);
        Written(session, live, st.ok());
      });
}

void DeviceLiveness::Written(SessionId session, bool live, bool ok) {
  MutexLock lock(mu_);
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  it->second.writing = false;
  if (!ok) {
    // Kept, and tried again at the session's next change or by RetryFailed:
    // a "not live" that never lands would keep the device from every push.
    it->second.failed = true;
    return;
  }
  it->second.failed = false;
  it->second.stored_live = live;
  SyncLocked(session);
}

void DeviceLiveness::RetryFailed() {
  MutexLock lock(mu_);
  std::vector<SessionId> failed;
  for (const auto& [session, state] : sessions_) {
    if (state.failed && !state.writing) failed.push_back(session);
  }
  for (SessionId session : failed) SyncLocked(session);
}
}  // namespace natter::push
