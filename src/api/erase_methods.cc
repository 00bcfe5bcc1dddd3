// admin.users.erase (docs/admin.md): a user's account, messages, reactions,
// memberships and uploads are erased, as the right to erasure asks. The
// account goes first (every session ends, nothing more can be sent as them),
// then each conversation they touched, in slices, each slice telling the
// members like a deletion would, then what each partition keeps of them. A
// run cut short is finished by calling again: every step finds only what is
// left.
#include <spdlog/spdlog.h>

#include "api/dispatcher.h"
#include "chat/message_lifecycle.h"
#include "media/attachment_release.h"
#include "media/media_service.h"

namespace natter::api {

namespace json = boost::json;

namespace {

// Messages erased per transaction: a user with years of messages never
// holds a conversation's writes back for long.
constexpr int kErasedPerSlice = 200;

}  // namespace

// One erasure under way.
struct Dispatcher::Erasure {
  UserId user = 0;
  Executor* executor = nullptr;
  Reply reply;
  int64_t now_ms = 0;
  std::vector<ConversationId> conversations = {};
  size_t next = 0;         // in `conversations`
  Seq after_seq = 0;       // in the next one: where the last slice stopped
  int64_t release_at = 0;  // when their attachments' uploads go
  int64_t messages = 0;
  int64_t memberships = 0;
};

// What one slice of a conversation's erasure did.
struct ErasedSlice {
  chat::ErasedContent content;
  std::optional<chat::ConversationView> left;  // set once the user left it
};

void Dispatcher::AdminEraseUser(const Caller& c, UserIdParams p, Reply reply) {
  if (p.user_id == c.user) return reply(BadRequest("you cannot erase yourself"));
  auto run = std::make_shared<Erasure>();
  run->user = p.user_id;
  run->executor = c.executor;
  run->reply = std::move(reply);
  run->now_ms = d_.clock.NowMs();
  run->release_at = run->now_ms + (d_.media ? d_.media->limits()->delete_grace_ms : 0);
  // A line on record from the first step: should the node die before the
  // answer (and its line), the audit log still shows who began it.
  AuditEntry begun{0, run->now_ms, c.user, "admin.users.erase", p.user_id, "{}", c.address, "started"};
  d_.store.WriteAccountsResult<std::vector<SessionId>>(
      ExecutorOf(c),
      // Values only: the run (and the caller's answer in it) stays with the
      // caller's executor, never released on a store thread.
      [this, user = run->user, now = run->now_ms, release_at = run->release_at,
       begun](AccountsTxn& txn) -> Result<std::vector<SessionId>> {
        NATTER_TRY(auto found, txn.FindUser(user));
        if (!found) return NotFound("no such user");
        // Its handle would be free to register, and the role with it.
        if (d_.operators.Named(found->handle)) {
          return Conflict("'" + found->handle +
                          "' is named in --admins or --moderators: take it out of the configuration first");
        }
        NATTER_RETURN_IF_ERROR(txn.InsertAudit(begun));
        return txn.EraseAccount(user, now, release_at);
      },
      [this, run](Result<std::vector<SessionId>> ended) {
        if (!ended.ok()) return run->reply(ended.take_error());
        d_.accounts.SessionsEnded(run->user, *ended);
        FindErasedConversations(run);
      });
}

void Dispatcher::FindErasedConversations(std::shared_ptr<Erasure> run) {
  d_.store.ReadEach<std::vector<ConversationId>>(
      *run->executor, [user = run->user](ConversationTxn& txn, int) { return txn.ListTouchedConversations(user); },
      [this, run](std::vector<Result<std::vector<ConversationId>>> parts) {
        // Every partition must answer: an erasure that skipped one would
        // claim to be done.
        for (auto& part : parts) {
          if (!part.ok()) return FailErasure(run, part.take_error());
          for (ConversationId id : *part) run->conversations.push_back(id);
        }
        EraseNextSlice(run);
      });
}

void Dispatcher::EraseNextSlice(std::shared_ptr<Erasure> run) {
  if (run->next == run->conversations.size()) return ForgetErased(run, 0);
  ConversationId id = run->conversations[run->next];
  d_.store.WriteResult<ErasedSlice>(
      d_.store.For(id), *run->executor,
      [id, user = run->user, now = run->now_ms, after = run->after_seq, release_at = run->release_at,
       limits = Limits()](ConversationTxn& txn) -> Result<ErasedSlice> {
        ErasedSlice slice;
        NATTER_TRY(slice.content, chat::EraseContentBy(txn, limits, id, user, now, after, kErasedPerSlice));
        for (const auto& m : slice.content.erased) {
          NATTER_RETURN_IF_ERROR(media::ReleaseAttachments(txn, m, release_at));
        }
        if (slice.content.more) return slice;
        NATTER_TRY(slice.left, chat::ExpelMember(txn, limits, id, user, now));
        return slice;
      },
      [this, run](Result<ErasedSlice> r, const CommitTurn& turn) {
        if (!r.ok()) return FailErasure(run, r.take_error());
        run->messages += static_cast<int64_t>(r->content.erased.size());
        if (r->left) ++run->memberships;
        if (r->content.more) {
          run->after_seq = r->content.erased.back().seq;
        } else {
          ++run->next;
          run->after_seq = 0;
        }
        auto slice = std::make_shared<const ErasedSlice>(std::move(*r));
        // Members hear of each tombstone and departure as they would of the
        // user's own deletions.
        turn.Then([this, slice] {
          if (!Publishing()) return;
          for (const auto& e : slice->content.events) PublishTimeline(e, 0);
          if (slice->left) PublishConversation(*slice->left, 0);
        });
        EraseNextSlice(run);
      });
}

void Dispatcher::ForgetErased(std::shared_ptr<Erasure> run, int partition) {
  if (partition == d_.store.Partitions()) {
    // The rows are overwritten; older copies leave the files next.
    d_.store.ForgetOverwritten();
    spdlog::info("erasure: user {} erased ({} messages, {} memberships)", run->user, run->messages, run->memberships);
    return run->reply(json::value(json::object{{"user_id", run->user},
                                               {"erased", true},
                                               {"messages_erased", run->messages},
                                               {"conversations_left", run->memberships}}));
  }
  d_.store.Write(
      WriteKey(partition), *run->executor,
      [user = run->user](ConversationTxn& txn) { return txn.ForgetUserRows(user); },
      [this, run, partition](Status st, const CommitTurn&) {
        if (!st.ok()) return FailErasure(run, st.take_error());
        ForgetErased(run, partition + 1);
      });
}

void Dispatcher::FailErasure(const std::shared_ptr<Erasure>& run, Error error) {
  spdlog::warn("erasure: user {} is only partly erased ({} messages so far): {}", run->user, run->messages,
               error.message);
  error.message = "the erasure stopped before it was done (" + error.message + "); call it again to finish it";
  run->reply(std::move(error));
}

}  // namespace natter::api
