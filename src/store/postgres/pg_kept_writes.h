// The writes of a pipelined batch's sends, kept back and sent as one
// statement per table: a send's message, its members' log entries and heads,
// the sender's watermarks and the conversation's last seq were four
// statements a send, and PostgreSQL's cost per statement (executor start and
// end, one answer each) was most of what it spent on a send. With push on,
// the conversation's push job and the sender's alert taken back were two
// more, the second a round trip of its own.
//
// PgTxn keeps them while the batch holds the rows they change (LockAhead's
// locks) and its view knows what they set; Connection sends them before any
// other statement and before COMMIT (`Connection::OnKeptBack`), so every
// statement still sees all that came before it.
// Not thread-safe: one writer's transaction owns it.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "natter/model.h"
#include "store/postgres/pg_conn.h"
#include "store/webhook_records.h"

// How a queued push job takes a newer one of the same conversation and
// user: a conversation's job (user 0) runs to the newest seq, due at the
// earliest (attempts start over when that moved it sooner); a user's clear
// job is replaced.
#define PUSH_JOB_CONFLICT                                             \
  "ON CONFLICT (conversation_id, user_id) DO UPDATE "                 \
  "SET last_seq = greatest(push_queue.last_seq, excluded.last_seq), " \
  "due_at = least(push_queue.due_at, excluded.due_at), "              \
  "attempts = CASE WHEN excluded.due_at < push_queue.due_at THEN 0 "  \
  "ELSE push_queue.attempts END"
#define PUSH_CLEAR_JOB_CONFLICT                                   \
  "ON CONFLICT (conversation_id, user_id) DO UPDATE "             \
  "SET first_seq = excluded.first_seq, "                          \
  "last_seq = greatest(push_queue.last_seq, excluded.last_seq), " \
  "due_at = excluded.due_at, attempts = 0"

namespace natter::pg {

class KeptWrites {
 public:
  void ConversationSeq(ConversationId id, Seq last_seq, int64_t last_activity);
  void Message(const natter::Message& m);
  // The entry at `pts` in `user`'s update log, which becomes its head.
  void LogEntry(UserId user, int64_t pts, ConversationId c, Seq seq);
  void Watermarks(ConversationId c, UserId user, Seq seq);
  // The conversation's push job (user 0) for these seqs: one per
  // conversation, from the first seq to the last, due at the earliest.
  void PushJob(ConversationId c, Seq first_seq, Seq last_seq, int64_t due_at);
  // Takes `user`'s alert of `c` up to `read_seq` and, when there was one,
  // queues their clear job (ConversationTxn::ClearPushShown); one per
  // conversation and user, at the highest `read_seq`.
  void ClearShown(ConversationId c, UserId user, Seq read_seq, int64_t due_at);
  // A timeline event's webhook job; one whose event id is queued already
  // (kept here or stored) is not queued again.
  void Webhook(const WebhookJob& job);

  // How many writes were kept since this was made: a statement each, before.
  uint64_t count() const { return count_; }
  bool empty() const;
  // Sends what is kept (deferred: a failure shows at the next read or the
  // commit) and forgets it.
  Status SendTo(Connection& db);
  void Clear();

 private:
  static constexpr size_t kMessageColumns = 13;
  std::map<ConversationId, std::pair<Seq, int64_t>> conversations_;
  std::array<std::vector<Param>, kMessageColumns> messages_;
  std::map<UserId, int64_t> heads_;
  std::array<std::vector<int64_t>, 4> entries_;  // user, pts, conversation, seq
  std::map<std::pair<ConversationId, UserId>, Seq> watermarks_;
  struct SeqsDue {
    Seq first = 0, last = 0;
    int64_t due_at = 0;
  };
  std::map<ConversationId, SeqsDue> push_jobs_;
  std::map<std::pair<ConversationId, UserId>, SeqsDue> cleared_;
  static constexpr size_t kWebhookColumns = 7;
  std::array<std::vector<Param>, kWebhookColumns> webhooks_;
  std::unordered_set<std::string> webhook_events_;
  uint64_t count_ = 0;
};

}  // namespace natter::pg
