// Presence: a user is online while at least one of their devices is
// connected; when the last one leaves, they turn offline (with last-seen
// stored) only after a grace period, so a flaky mobile network does not flap.
// Changes are told to the users who share a small conversation with them,
// unless they chose to hide their presence. They are told in batches, in the
// order they came, one batch at a time (up to 256 changes: one read of the
// users and one of their contacts), so a connect storm of thousands costs a
// few reads rather than two per user; each conversation's member list is read
// once per change of its members (MemberLists). Stored: last-seen, and which
// nodes hold a connection of the user (so any node of a cluster can answer
// presence.get), only when other nodes share the store: a lone node knows its
// connections without asking the store, and a connect then writes nothing.
//
// Thread-safety: Connected/Disconnected/IsOnline may be called from any
// thread (one mutex); timers run on the io_context given at construction.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "broker/broker.h"
#include "common/asio_executor.h"
#include "common/mutex.h"
#include "natter/clock.h"
#include "presence/member_lists.h"
#include "store/store.h"

namespace natter::presence {

class PresenceService {
 public:
  // `shared_store`: other nodes read the store too (a cluster), so it records
  // which nodes hold each user's connections.
  PresenceService(Store& store, Broker& broker, const Clock& clock, boost::asio::io_context& timers, int64_t grace_ms,
                  int node_id = 0, bool shared_store = true);

  // At start-up, before serving (blocks): this node holds no connection yet,
  // whatever a previous run that was killed left stored. A lone node clears
  // the marks of every node (a cluster shrunk to it, a changed --node-id).
  void ForgetStoredConnections();

  // `ready` (may be empty) runs, on any thread, once this node receives the
  // user's events (Broker::UserOnline). It may run inside this call, with
  // presence's mutex held: it must not call back into PresenceService (the
  // gateway's only posts to the connection's worker).
  void Connected(UserId user, std::function<void()> ready = {});
  void Disconnected(UserId user);
  // Online here (including the grace period).
  bool IsOnline(UserId user) const;
  // Online here or on another node, as `user` (freshly read) records.
  bool IsOnline(const User& user) const;
  // Tells the user's contacts of a change of visibility (hidden or shown).
  void VisibilityChanged(UserId user, bool hidden);
  // Member lists read for the contact reads, since start (MemberLists).
  uint64_t member_lists_read() const { return member_lists_->kept(); }

 private:
  struct State {
    int connections = 0;
    std::shared_ptr<boost::asio::steady_timer> going_offline;  // set during the grace period
    int offline_writes = 0;  // grace periods that ended whose offline write is not stored yet
  };
  // The grace period ended: stores last-seen (and, in a cluster, that this
  // node no longer holds the user), then OfflineStored runs on the timers'
  // io_context.
  void WentOffline(UserId user, const boost::asio::steady_timer* timer);
  // Tells contacts the user is offline, unless they came back meanwhile.
  void OfflineStored(UserId user, int64_t last_seen, bool stored);
  struct Change {
    UserId user = 0;
    bool online = false;
    int64_t last_seen = 0;  // 0: the stored one
    bool visibility_change = false;
  };
  // A change to tell, with what the store said of its user.
  struct Told {
    Change change;
    User user;
    std::set<UserId> blocked;  // blocked either way: told nothing
    std::shared_ptr<const std::string> payload;
  };
  // Publishes {"type":"presence",...} to the user's contacts. A hidden user is
  // announced only when `visibility_change` (as "hidden", without last-seen).
  // Changes are queued and told in batches, in order (AnnounceBatch).
  void Announce(UserId user, bool online, int64_t last_seen, bool visibility_change);
  // Tells the next batch of queued changes, then the next, until none is left.
  void AnnounceBatch();
  // The batch's users and blocks, then ReadContacts (or the next batch).
  void ReadBatch(std::shared_ptr<const std::vector<Change>> batch);
  // Their contacts on every partition, then Publish and the next batch.
  void ReadContacts(std::vector<Told> read);
  static std::shared_ptr<const std::string> Frame(const Told& told);
  // Publishes each told change to its contacts, from every partition's
  // contact lists (one list per change, in order).
  void Publish(const std::vector<Told>& told, const std::vector<Result<std::vector<std::vector<UserId>>>>& parts);

  Store& store_;
  Broker& broker_;
  const Clock& clock_;
  boost::asio::io_context& timers_;
  AsioExecutor executor_{timers_};  // store answers run where the timers do
  const int64_t grace_ms_;
  const int node_id_;
  const bool shared_store_;
  mutable Mutex mu_;
  std::unordered_map<UserId, State> users_ GUARDED_BY(mu_);
  Mutex changes_mu_;
  std::vector<Change> changes_ GUARDED_BY(changes_mu_);  // not yet told
  bool announcing_ GUARDED_BY(changes_mu_) = false;      // a batch is being told
  // Shared with the contact reads, which run on the store's reader threads.
  std::shared_ptr<MemberLists> member_lists_ = std::make_shared<MemberLists>();
};

}  // namespace natter::presence
