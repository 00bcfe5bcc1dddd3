// sync and presence: catching up, and who is online.
#include <set>

#include "api/answers.h"
#include "api/dispatcher.h"
#include "api/json_views.h"
#include "api/sync_token.h"
#include "chat/blocks.h"
#include "chat/sync.h"
#include "presence/presence_service.h"

namespace natter::api {

namespace json = boost::json;

namespace {

// A sync answer's "pts": the count of every change the client has, summed
// over the store's partitions (each keeps its own log).
int64_t TotalPts(const chat::SyncPosition& position) {
  int64_t total = 0;
  for (int64_t p : position.pts) total += p;
  return total;
}

CatchUpAnswer ResyncRequired(std::string_view reason) {
  CatchUpAnswer out;
  out.answer = json::object{{"resync_required", true}, {"reason", reason}, {"conversations", nullptr}};
  return out;
}

}  // namespace

// NOLINTNEXTLINE(performance-unnecessary-value-param): the method table's handler signature
void Dispatcher::Sync(const Caller& c, SyncParams p, Reply reply) {
  CatchUp(c, p, [reply = std::move(reply)](Result<CatchUpAnswer> r) {
    if (!r.ok()) return reply(r.take_error());
    r->answer["conversations"] = std::move(r->conversations);
    reply(json::value(std::move(r->answer)));
  });
}

void Dispatcher::CatchUp(const Caller& c, const SyncParams& p, std::function<void(Result<CatchUpAnswer>)> reply) {
  std::optional<chat::SyncPosition> since;
  if (!p.token.empty()) {
    auto decoded = DecodeSyncToken(d_.keys, c.user, p.token);
    if (!decoded.ok()) return reply(decoded.take_error());
    // Signed with a key this server no longer has: the client starts over.
    std::optional<chat::SyncPosition>& position = *decoded;
    if (!position) return reply(ResyncRequired("the sync token's signing key was retired"));
    since = std::move(*position);
  }
  if (since && since->pts.size() != static_cast<size_t>(d_.store.Partitions())) {
    // Made when the store had another number of partitions.
    return reply(ResyncRequired("the server's storage layout changed"));
  }
  auto shared_since = std::make_shared<const std::optional<chat::SyncPosition>>(std::move(since));
  d_.store.ReadEach<chat::SyncResult>(
      ExecutorOf(c),
      [ctx = ContextOf(c), shared_since, limits = Limits()](ConversationTxn& txn, int partition) {
        return chat::CatchUp(txn, ctx, limits, *shared_since, partition);
      },
      [this, reply = std::move(reply), user = c.user, shared_since](std::vector<Result<chat::SyncResult>> parts) {
        auto r = chat::MergeCatchUps(
            std::move(parts), *shared_since, [this](ConversationId id) { return d_.store.PartitionOf(id); },
            static_cast<size_t>(Limits()->max_sync_conversations));
        if (!r.ok()) return reply(r.take_error());
        if (r->resync_required) return reply(ResyncRequired(r->reason));
        d_.metrics.catchup_conversations.Observe(static_cast<int64_t>(r->conversations.size()));
        CatchUpAnswer out;
        for (const auto& entry : r->conversations) {
          out.conversations.push_back(ToJson(entry));
          if (!entry.removed) out.covered.emplace_back(entry.id, entry.conversation.last_seq);
        }
        out.answer = json::object{{"resync_required", false},
                                  {"conversations", nullptr},
                                  {"pts", TotalPts(r->position)},
                                  {"more", r->more},
                                  {"token", EncodeSyncToken(d_.keys, user, r->position)}};
        reply(std::move(out));
      });
}

void Dispatcher::GetPresence(const Caller& c, PresenceQueryParams p, Reply reply) {
  // Only users who share a conversation with the caller are answered; others
  // are left out exactly like users who do not exist. Each partition answers
  // for the conversations it holds (one query each); an instance that is down
  // hides only the users shared there.
  d_.store.ReadEach<std::vector<UserId>>(
      ExecutorOf(c),
      [caller = c.user, users = std::move(p.user_ids)](ConversationTxn& txn, int) {
        return txn.WhoShareWith(caller, users);
      },
      [this, &ex = ExecutorOf(c), caller = c.user,
       reply = std::move(reply)](std::vector<Result<std::vector<UserId>>> parts) mutable {
        auto answered = JoinAnswered(std::move(parts));
        if (!answered.ok()) return reply(answered.take_error());
        std::set<UserId> shared(answered->begin(), answered->end());
        d_.store.ReadAccountsResult<std::vector<User>>(
            ex,
            [caller, shared = std::move(shared)](AccountsTxn& txn) -> Result<std::vector<User>> {
              // Blocked either way: left out like a stranger.
              NATTER_TRY(auto blocked, chat::BlockedEitherWay(txn, caller));
              std::vector<User> visible;
              for (UserId u : shared) {
                if (blocked.contains(u)) continue;
                NATTER_TRY(auto user, txn.FindUser(u));
                if (user) visible.push_back(std::move(*user));
              }
              return visible;
            },
            [this, reply = std::move(reply)](Result<std::vector<User>> r) { AnswerPresence(std::move(r), reply); });
      });
}

void Dispatcher::AnswerPresence(Result<std::vector<User>> visible, const Reply& reply) {
  if (!visible.ok()) return reply(visible.take_error());
  json::array out;
  for (const auto& u : *visible) {
    json::object o{{"user_id", u.id}};
    if (u.presence_hidden) {
      o["status"] = "hidden";
    } else if (d_.presence && d_.presence->IsOnline(u)) {
      o["status"] = "online";
    } else {
      o["status"] = "offline";
      o["last_seen"] = u.last_seen;
    }
    out.push_back(std::move(o));
  }
  reply(json::value(json::object{{"presence", std::move(out)}}));
}

void Dispatcher::SetPresence(const Caller& c, SetPresenceParams p, Reply reply) {
  d_.store.WriteAccounts(
      ExecutorOf(c), [user = c.user, h = p.hidden](AccountsTxn& txn) { return txn.SetPresenceHidden(user, h); },
      [this, reply = std::move(reply), user = c.user, h = p.hidden](Status st) {
        if (!st.ok()) return reply(st.take_error());
        reply(json::value(json::object{{"hidden", h}}));
        if (d_.presence) d_.presence->VisibilityChanged(user, h);
      });
}

}  // namespace natter::api
