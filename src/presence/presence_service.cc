#include "presence/presence_service.h"

#include <algorithm>
#include <future>
#include <set>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/json/serialize.hpp>

#include "chat/blocks.h"
#include "common/guarded.h"
#include "common/id_generator.h"

namespace natter::presence {

namespace json = boost::json;

namespace {
constexpr int kMaxContacts = 10000;
// Changes told per batch: bounds how long one read transaction runs.
constexpr size_t kMaxChangesPerBatch = 256;

// Whether a change is kept from contacts: a hidden user's comings and goings
// (only the change of visibility is told), or an offline while another node
// of the cluster still holds a connection.
bool Untold(const User& me, bool online, bool visibility_change) {
  if (visibility_change) return false;
  return me.presence_hidden || (!online && me.online_nodes != 0);
}

// Conversations whose members are read in one statement, at most.
constexpr size_t kMaxListsPerRead = 1000;

using Lists = std::unordered_map<ConversationId, MemberLists::Ids>;

// Reads the member lists of `missing` (kMaxListsPerRead conversations per
// statement), keeps them in `lists` for the next users and puts them in `ids`.
Status ReadMissing(ConversationTxn& txn, MemberLists& lists, const std::vector<MembersVersion>& missing, Lists& ids) {
  for (size_t from = 0; from < missing.size(); from += kMaxListsPerRead) {
    const size_t to = std::min(missing.size(), from + kMaxListsPerRead);
    std::vector<ConversationId> asked;
    for (size_t i = from; i < to; ++i) asked.push_back(missing[i].conversation_id);
    NATTER_TRY(auto rows, txn.ListMemberIdsOf(asked));
    std::unordered_map<ConversationId, std::vector<UserId>> read;
    for (const auto& [conversation, user] : rows) read[conversation].push_back(user);
    for (size_t i = from; i < to; ++i) {
      auto list = std::make_shared<const std::vector<UserId>>(std::move(read[missing[i].conversation_id]));
      lists.Keep(missing[i].conversation_id, missing[i].version, list);
      ids[missing[i].conversation_id] = std::move(list);
    }
  }
  return OkStatus();
}

// The members of `conversations` but `user`, each once, at most kMaxContacts.
std::vector<UserId> Merged(UserId user, const std::vector<MembersVersion>& conversations, const Lists& ids) {
  std::vector<UserId> out;
  auto distinct = [&] {
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
  };
  for (const MembersVersion& c : conversations) {
    for (UserId id : *ids.at(c.conversation_id)) {
      if (id != user) out.push_back(id);
    }
    // Duplicates are dropped now and then, not per conversation.
    if (out.size() >= 2 * static_cast<size_t>(kMaxContacts)) {
      distinct();
      if (out.size() >= static_cast<size_t>(kMaxContacts)) break;
    }
  }
  distinct();
  if (out.size() > static_cast<size_t>(kMaxContacts)) out.resize(kMaxContacts);
  return out;
}

// Who shares a small conversation of this partition with each of `users`, at
// most kMaxContacts each. The member ids of a conversation come from `lists`
// while its members are unchanged; those missing are read together, a few
// statements for the whole batch.
Result<std::vector<std::vector<UserId>>> ContactsOf(ConversationTxn& txn, MemberLists& lists,
                                                    const std::vector<UserId>& users) {
  std::vector<std::vector<MembersVersion>> joined;
  Lists ids;
  std::vector<MembersVersion> missing;
  for (UserId user : users) {
    NATTER_TRY(auto conversations, txn.ListSmallConversations(user, kMaxContacts));
    for (const MembersVersion& c : conversations) {
      auto [it, added] = ids.try_emplace(c.conversation_id);
      if (!added) continue;  // one snapshot: the same version for every user
      it->second = lists.Find(c.conversation_id, c.version);
      if (!it->second) missing.push_back(c);
    }
    joined.push_back(std::move(conversations));
  }
  NATTER_RETURN_IF_ERROR(ReadMissing(txn, lists, missing, ids));
  std::vector<std::vector<UserId>> contacts;
  for (size_t u = 0; u < users.size(); ++u) contacts.push_back(Merged(users[u], joined[u], ids));
  return contacts;
}
}  // namespace

PresenceService::PresenceService(Store& store, Broker& broker, const Clock& clock, boost::asio::io_context& timers,
                                 int64_t grace_ms, int node_id, bool shared_store)
    : store_(store),
      broker_(broker),
      clock_(clock),
      timers_(timers),
      grace_ms_(grace_ms),
      node_id_(node_id),
      shared_store_(shared_store) {}

void PresenceService::ForgetStoredConnections() {
  std::promise<Status> cleared;
  store_.WriteAccounts(
      InlineExecutor(),
      [node = node_id_, shared = shared_store_](AccountsTxn& txn) -> Status {
        if (shared) return txn.ClearOnlineAt(node);
        // No other node serves: marks of any node are left over.
        for (int n = 0; n <= IdGenerator::kMaxNodeId; ++n) NATTER_RETURN_IF_ERROR(txn.ClearOnlineAt(n));
        return OkStatus();
      },
      [&cleared](Status st) { cleared.set_value(std::move(st)); });
  Status st = cleared.get_future().get();
  if (!st.ok())
    spdlog::warn("presence: could not clear the stored connections left from before: {}", st.error().message);
}

bool PresenceService::IsOnline(const User& user) const {
  return IsOnline(user.id) || (user.online_nodes & ~(int64_t{1} << node_id_)) != 0;
}

void PresenceService::Connected(UserId user, std::function<void()> ready) {
  // The broker and store calls below only queue work; they are made under
  // the lock so that the order they are queued in is the order of the
  // decisions (a WentOffline racing this call is either wholly before or
  // wholly after it).
  MutexLock lock(mu_);
  State& s = users_[user];
  if (++s.connections > 1 || s.going_offline) {
    if (s.going_offline) {
      s.going_offline->cancel();  // back within the grace period: nobody saw it leave
      s.going_offline.reset();
    }
    lock.Unlock();
    if (ready) ready();  // already listened for on this node
    return;
  }
  broker_.UserOnline(user, std::move(ready));  // a cluster broker starts listening for their events
  if (shared_store_) {
    store_.WriteAccounts(
        executor_, [user, node = node_id_](AccountsTxn& txn) { return txn.SetOnlineAt(user, node, true); },
        [](const Status&) {});
  }
  // Back while the offline change is still being stored: contacts were not
  // told of it (its completion sees this connection), so nothing to tell.
  bool announce = s.offline_writes == 0;
  lock.Unlock();
  if (announce) Announce(user, true, 0, false);
}

void PresenceService::Disconnected(UserId user) {
  MutexLock lock(mu_);
  auto it = users_.find(user);
  if (it == users_.end() || --it->second.connections > 0) return;
  auto timer = std::make_shared<boost::asio::steady_timer>(timers_, std::chrono::milliseconds(grace_ms_));
  it->second.going_offline = timer;
  timer->async_wait([this, user, timer](const boost::system::error_code& ec) {
    if (!ec) WentOffline(user, timer.get());
  });
}

bool PresenceService::IsOnline(UserId user) const {
  MutexLock lock(mu_);
  auto it = users_.find(user);
  // Within the grace period a user still counts as online.
  return it != users_.end() && (it->second.connections > 0 || it->second.going_offline);
}

void PresenceService::WentOffline(UserId user, const boost::asio::steady_timer* timer) {
  int64_t now = clock_.NowMs();
  {
    MutexLock lock(mu_);
    auto it = users_.find(user);
    // A timer cancelled after it fired still runs its handler: only the
    // current grace period may end.
    if (it == users_.end() || it->second.connections > 0 || it->second.going_offline.get() != timer) return;
    it->second.going_offline.reset();
    ++it->second.offline_writes;
    // Queued under the lock: a Connected that follows queues its UserOnline
    // and (in a cluster) its online write after these, so the user is not
    // left marked offline (in the store, and by the broker) while connected.
    broker_.UserOffline(user);
    // Its answer runs on the timers' thread, never inline under this lock.
    store_.WriteAccounts(
        executor_,
        [user, now, node = node_id_, shared = shared_store_](AccountsTxn& txn) -> Status {
          NATTER_RETURN_IF_ERROR(txn.SetLastSeen(user, now));
          return shared ? txn.SetOnlineAt(user, node, false) : OkStatus();
        },
        [this, user, now](const Status& st) { OfflineStored(user, now, st.ok()); });
  }
}

void PresenceService::OfflineStored(UserId user, int64_t last_seen, bool stored) {
  {
    MutexLock lock(mu_);
    auto it = users_.find(user);
    if (it == users_.end()) return;
    State& s = it->second;
    // Reconnected meanwhile (contacts never heard of the absence), or a later
    // offline write is still queued and will tell.
    if (--s.offline_writes > 0 || s.connections > 0 || s.going_offline) return;
    users_.erase(it);
  }
  if (stored) Announce(user, false, last_seen, false);
}

void PresenceService::VisibilityChanged(UserId user, bool hidden) {
  (void)hidden;  // the stored flag, read with the contacts, decides what is said
  Announce(user, IsOnline(user), 0, true);
}

void PresenceService::Announce(UserId user, bool online, int64_t last_seen, bool visibility_change) {
  {
    MutexLock lock(changes_mu_);
    changes_.push_back(Change{user, online, last_seen, visibility_change});
    if (announcing_) return;  // the batch in flight takes the next ones after it
    announcing_ = true;
  }
  AnnounceBatch();
}

void PresenceService::AnnounceBatch() {
  // One batch at a time, in the order the changes were queued, and a connect
  // storm costs one read of each kind per batch rather than two per user.
  // Every way out of a batch (an answer, a refusal, an exception, logged)
  // starts the next one: a batch that ended otherwise would stop presence.
  for (int attempt = 0; attempt < 3; ++attempt) {
    bool done = RunCatching("presence", [&] {
      auto batch = std::make_shared<std::vector<Change>>();
      {
        MutexLock lock(changes_mu_);
        if (changes_.empty()) {
          announcing_ = false;
          return;
        }
        size_t n = std::min(changes_.size(), kMaxChangesPerBatch);
        batch->assign(std::make_move_iterator(changes_.begin()), std::make_move_iterator(changes_.begin() + n));
        changes_.erase(changes_.begin(), changes_.begin() + static_cast<long>(n));
      }
      ReadBatch(std::move(batch));
    });
    if (done) return;
  }
  // Out of memory, most likely: the next change starts again.
  MutexLock lock(changes_mu_);
  announcing_ = false;
}

void PresenceService::ReadBatch(std::shared_ptr<const std::vector<Change>> batch) {
  store_.ReadAccountsResult<std::vector<Told>>(
      executor_,
      [batch](AccountsTxn& txn) -> Result<std::vector<Told>> {
        std::vector<Told> told;
        for (const Change& change : *batch) {
          NATTER_TRY(auto found, txn.FindUser(change.user));
          // What is not told needs no list of whom not to tell.
          if (!found || Untold(*found, change.online, change.visibility_change)) continue;
          NATTER_TRY(auto blocked, chat::BlockedEitherWay(txn, change.user));
          told.push_back(Told{change, std::move(*found), std::move(blocked), nullptr});
        }
        return told;
      },
      [this](Result<std::vector<Told>> read) {
        // Storage overloaded: these changes go untold; presence.get still answers.
        if (!read.ok() || read->empty()) return AnnounceBatch();
        if (!RunCatching("presence", [&] { ReadContacts(std::move(*read)); })) AnnounceBatch();
      });
}

void PresenceService::ReadContacts(std::vector<Told> read) {
  auto told = std::make_shared<std::vector<Told>>(std::move(read));
  auto users = std::make_shared<std::vector<UserId>>();
  for (Told& t : *told) {
    t.payload = Frame(t);
    users->push_back(t.change.user);
  }
  // Contacts come from the conversations of every partition.
  store_.ReadEach<std::vector<std::vector<UserId>>>(
      executor_, [users, lists = member_lists_](ConversationTxn& txn, int) { return ContactsOf(txn, *lists, *users); },
      [this, told](std::vector<Result<std::vector<std::vector<UserId>>>> parts) {
        RunCatching("presence", [&] { Publish(*told, parts); });
        AnnounceBatch();
      });
}

std::shared_ptr<const std::string> PresenceService::Frame(const Told& told) {
  const User& me = told.user;
  // Contacts see the same as presence.get answers: "hidden" with no
  // last-seen, or the truth.
  const bool hidden = me.presence_hidden, online = told.change.online;
  const char* status = hidden ? "hidden" : online ? "online" : "offline";
  json::object frame{{"type", "presence"}, {"user_id", me.id}, {"status", status}};
  if (!hidden && !online) frame["last_seen"] = told.change.last_seen ? told.change.last_seen : me.last_seen;
  return std::make_shared<const std::string>(json::serialize(frame));
}

void PresenceService::Publish(const std::vector<Told>& told,
                              const std::vector<Result<std::vector<std::vector<UserId>>>>& parts) {
  for (size_t i = 0; i < told.size(); ++i) {
    // A partition that is down hides its own conversations, not the rest;
    // none answering leaves the change untold. A sorted vector, not a set: a
    // connect storm tells about a hundred contacts per change.
    std::vector<UserId> contacts;
    bool any = false;
    for (const auto& part : parts) {
      if (!part.ok() || part->size() != told.size()) continue;
      any = true;
      for (UserId c : (*part)[i]) {
        if (!told[i].blocked.contains(c)) contacts.push_back(c);
      }
    }
    if (!any || contacts.empty()) continue;
    std::sort(contacts.begin(), contacts.end());
    contacts.erase(std::unique(contacts.begin(), contacts.end()), contacts.end());
    Event event;
    event.payload = told[i].payload;
    event.presence_of = told[i].change.user;  // may wait on each socket for the changes that follow
    event.recipients.reserve(contacts.size());
    for (UserId c : contacts) event.recipients.push_back(EventRecipient{c, 0});
    broker_.Publish(std::move(event));
  }
}

}  // namespace natter::presence
