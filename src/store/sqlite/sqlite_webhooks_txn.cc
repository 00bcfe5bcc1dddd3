// SqliteTxn's webhook queue.
#include "store/sqlite/sqlite_rows.h"
#include "store/sqlite/sqlite_txn.h"
#include "store/webhook_row_readers.h"

namespace natter::sqlite {

Status SqliteTxn::QueueWebhook(const WebhookJob& job) {
  auto s = db_.Prepare(
      "INSERT INTO webhook_queue(event_id, type, conversation_id, seq, subject, created_at, due_at) "
      "VALUES(?,?,?,?,?,?,?) ON CONFLICT(event_id) DO NOTHING");
  s.Bind(1, job.event_id)
      .Bind(2, job.type)
      .Bind(3, job.conversation_id)
      .Bind(4, job.seq)
      .Bind(5, job.subject)
      .Bind(6, job.created_at)
      .Bind(7, job.due_at);
  return s.Run();
}

// One database: accounts' events share the queue.
Status SqliteTxn::QueueAccountWebhook(const WebhookJob& job) { return QueueWebhook(job); }

Result<std::vector<WebhookJob>> SqliteTxn::ClaimWebhooks(int64_t now, int64_t lease_until, int limit, int64_t claim) {
  auto s = db_.Prepare(
      "UPDATE webhook_queue SET claimed_until = ?1, claim = ?4 WHERE id IN (SELECT id FROM webhook_queue "
      "WHERE due_at <= ?2 AND claimed_until <= ?2 ORDER BY due_at, id LIMIT ?3) RETURNING " WEBHOOK_JOB_COLUMNS);
  s.Bind(1, lease_until).Bind(2, now).Bind(3, int64_t{limit}).Bind(4, claim);
  return All<WebhookJob>(s, [](const Statement& row) { return rows::ReadWebhookJob(row); });
}

Status SqliteTxn::FinishWebhook(const WebhookJob& job) {
  auto s = db_.Prepare("DELETE FROM webhook_queue WHERE id = ? AND claim = ?");
  s.Bind(1, job.id).Bind(2, job.claim);
  return s.Run();
}

Status SqliteTxn::RetryWebhook(const WebhookJob& job, int64_t due_at, bool attempted) {
  auto s = db_.Prepare(
      "UPDATE webhook_queue SET due_at = ?, claimed_until = 0, claim = 0, attempts = attempts + ? "
      "WHERE id = ? AND claim = ?");
  s.Bind(1, due_at).Bind(2, int64_t{attempted}).Bind(3, job.id).Bind(4, job.claim);
  return s.Run();
}

Result<WebhookQueueStats> SqliteTxn::GetWebhookQueueStats() {
  auto s = db_.Prepare("SELECT count(*), coalesce(min(created_at), 0) FROM webhook_queue");
  NATTER_TRY(bool row, s.Step());
  if (!row) return WebhookQueueStats{};
  return WebhookQueueStats{s.Int(0), s.Int(1)};
}

}  // namespace natter::sqlite
