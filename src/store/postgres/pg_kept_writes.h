// The writes of a pipelined batch's sends, kept back and sent as one
// statement per table: a send's message, its members' log entries and heads,
// the sender's watermarks and the conversation's last seq were four
// statements a send, and PostgreSQL's cost per statement (executor start and
// end, one answer each) was most of what it spent on a send.
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
#include <utility>
#include <vector>

#include "natter/model.h"
#include "store/postgres/pg_conn.h"

namespace natter::pg {

class KeptWrites {
 public:
  void ConversationSeq(ConversationId id, Seq last_seq, int64_t last_activity);
  void Message(const natter::Message& m);
  // The entry at `pts` in `user`'s update log, which becomes its head.
  void LogEntry(UserId user, int64_t pts, ConversationId c, Seq seq);
  void Watermarks(ConversationId c, UserId user, Seq seq);

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
  uint64_t count_ = 0;
};

}  // namespace natter::pg
