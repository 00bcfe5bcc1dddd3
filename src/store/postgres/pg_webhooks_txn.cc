// PgTxn's webhook queue: each partition queues its conversations' events,
// the first one also the accounts' (reports, registrations).
#include "store/postgres/pg_rows.h"
#include "store/postgres/pg_txn.h"
#include "store/webhook_row_readers.h"

namespace natter::pg {
namespace {

// An account event's job: sent without waiting in a writer's pipelined
// batch (pg_conn.h). A timeline event's is kept back with the batch's writes.
Status Queue(Connection& db, const WebhookJob& job) {
  return db.Defer(
      "INSERT INTO webhook_queue(event_id, type, conversation_id, seq, subject, created_at, "
      "due_at) VALUES($1,$2,$3,$4,$5,$6,$7) ON CONFLICT(event_id) DO NOTHING",
      {job.event_id, job.type, job.conversation_id, job.seq, job.subject, job.created_at, job.due_at});
}

}  // namespace

Status PgTxn::QueueWebhook(const WebhookJob& job) {
  kept_.Webhook(job);
  return Keep();
}

Status PgTxn::QueueAccountWebhook(const WebhookJob& job) { return Queue(accounts_, job); }

Result<std::vector<WebhookJob>> PgTxn::ClaimWebhooks(int64_t now, int64_t lease_until, int limit, int64_t claim) {
  // SKIP LOCKED: nodes claiming at once take different jobs.
  NATTER_TRY(auto r, db_.Query("UPDATE webhook_queue SET claimed_until = $1, claim = $4 WHERE id IN (SELECT id "
                               "FROM webhook_queue WHERE due_at <= $2 AND claimed_until <= $2 ORDER BY due_at, id "
                               "LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING " WEBHOOK_JOB_COLUMNS,
                               {lease_until, now, limit, claim}));
  return All<WebhookJob>(r, [](const Row& row) { return rows::ReadWebhookJob(row); });
}

Status PgTxn::FinishWebhook(const WebhookJob& job) {
  NATTER_TRY(auto r, db_.Query("DELETE FROM webhook_queue WHERE id = $1 AND claim = $2", {job.id, job.claim}));
  return OkStatus();
}

Status PgTxn::RetryWebhook(const WebhookJob& job, int64_t due_at, bool attempted) {
  NATTER_TRY(auto r, db_.Query("UPDATE webhook_queue SET due_at = $1, claimed_until = 0, claim = 0, "
                               "attempts = attempts + $4 WHERE id = $2 AND claim = $3",
                               {due_at, job.id, job.claim, int64_t{attempted}}));
  return OkStatus();
}

Result<WebhookQueueStats> PgTxn::GetWebhookQueueStats() {
  NATTER_TRY(auto r, db_.Query("SELECT count(*), coalesce(min(created_at), 0) FROM webhook_queue"));
  if (r.empty()) return WebhookQueueStats{};
  return WebhookQueueStats{r.Int(0, 0), r.Int(0, 1)};
}

}  // namespace natter::pg
