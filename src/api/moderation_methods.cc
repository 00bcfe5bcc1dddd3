// admin.conversations.*: a server moderator's mutes and bans inside a
// conversation (docs/admin.md, "Conversations"; chat/moderation.h).
#include "api/answers.h"
#include "api/dispatcher.h"
#include "api/json_views.h"
#include "chat/moderation.h"

namespace natter::api {

namespace json = boost::json;

void Dispatcher::AdminBan(const Caller& c, ConversationBanParams p, Reply reply) {
  ConversationId id = p.conversation_id;
  if (!p.banned) {
    return d_.store.WriteResult<bool>(
        d_.store.For(id), ExecutorOf(c),
        [id, user = p.user_id](ConversationTxn& txn) { return chat::LiftBan(txn, id, user); },
        [reply = std::move(reply), user = p.user_id](Result<bool> lifted, const CommitTurn&) {
          if (!lifted.ok()) return reply(lifted.take_error());
          reply(json::value(json::object{{"user_id", user}, {"banned", false}, {"was_banned", *lifted}}));
        });
  }
  ConversationBan ban{id, p.user_id, c.user, d_.clock.NowMs(), std::move(p.reason)};
  using Banned = std::optional<chat::ConversationView>;
  d_.store.WriteResult<Banned>(
      d_.store.For(id), ExecutorOf(c),
      [ban, limits = Limits()](ConversationTxn& txn) { return chat::BanMember(txn, limits, ban); },
      [this, reply = std::move(reply), user = ban.user_id](Result<Banned> r, const CommitTurn& turn) {
        if (!r.ok()) return reply(r.take_error());
        json::object answer{{"user_id", user}, {"banned", true}, {"removed", r->has_value()}};
        if (!*r) return reply(json::value(std::move(answer)));
        // The members (and the banned user's devices) hear of the removal as of any other.
        auto view = std::make_shared<const chat::ConversationView>(std::move(**r));
        turn.Then([this, view, reply, answer = std::move(answer)]() mutable {
          if (Publishing()) PublishConversation(*view, 0);
          reply(json::value(std::move(answer)));
        });
      });
}

void Dispatcher::AdminListBans(const Caller& c, ConversationParams p, Reply reply) {
  d_.store.ReadResult<std::vector<ConversationBan>>(
      d_.store.PartitionOf(p.conversation_id), ExecutorOf(c),
      [id = p.conversation_id](ConversationTxn& txn) { return chat::ListBans(txn, id); },
      [reply = std::move(reply)](Result<std::vector<ConversationBan>> r) {
        if (!r.ok()) return reply(r.take_error());
        json::array bans;
        for (const auto& b : *r) {
          bans.push_back(json::object{
              {"user_id", b.user_id}, {"banned_by", b.banned_by}, {"banned_at", b.banned_at}, {"reason", b.reason}});
        }
        reply(json::value(json::object{{"bans", std::move(bans)}}));
      });
}

void Dispatcher::AdminMute(const Caller& c, ConversationMuteParams p, Reply reply) {
  int64_t until = !p.muted ? 0 : p.for_s == 0 ? kMutedForever : d_.clock.NowMs() + p.for_s * 1000;
  d_.store.WriteResult<Member>(
      d_.store.For(p.conversation_id), ExecutorOf(c),
      [id = p.conversation_id, user = p.user_id, until](ConversationTxn& txn) {
        return chat::SilenceMember(txn, id, user, until);
      },
      [reply = std::move(reply)](Result<Member> m, const CommitTurn&) {
        if (!m.ok()) return reply(m.take_error());
        json::object answer{{"user_id", m->user_id}, {"muted", m->silenced_until != 0}};
        if (m->silenced_until != 0 && m->silenced_until != kMutedForever) answer["until"] = m->silenced_until;
        reply(json::value(std::move(answer)));
      });
}

}  // namespace natter::api
