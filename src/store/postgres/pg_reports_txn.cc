// PgTxn's reports: users' reports of messages and users, the queue
// moderators work through, kept with the accounts (docs/admin.md).
#include "store/postgres/pg_txn.h"
#include "store/row_readers.h"

namespace natter::pg {
namespace {

std::vector<Report> Reports(const Rows& r) {
  std::vector<Report> out;
  for (int i = 0; i < r.size(); ++i) out.push_back(rows::ReadReport(r.At(i)));
  return out;
}

std::optional<Report> OneReport(const Rows& r) {
  if (r.empty()) return std::nullopt;
  return rows::ReadReport(r.At(0));
}

}  // namespace

Result<int64_t> PgTxn::InsertReport(const Report& r) {
  NATTER_TRY(auto rows, accounts_.Query("INSERT INTO reports(created_at, reporter_id, target_user, conversation_id, "
                                        "seq, reason, text, message_text, state) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9) "
                                        "RETURNING id",
                                        {r.created_at, r.reporter, r.target_user, r.conversation_id, r.seq, r.reason,
                                         r.text, r.message_text, r.state}));
  if (rows.empty()) return Internal("a report was not given an id");
  return rows.Int(0, 0);
}

Result<std::optional<Report>> PgTxn::FindOpenReport(UserId reporter, UserId target_user, ConversationId c, Seq seq) {
  NATTER_TRY(auto r,
             accounts_.Query("SELECT " REPORT_COLUMNS " FROM reports WHERE reporter_id = $1 AND target_user = $2 AND "
                             "conversation_id = $3 AND seq = $4 AND state = 'open' ORDER BY id LIMIT 1",
                             {reporter, target_user, c, seq}));
  return OneReport(r);
}

Result<std::optional<Report>> PgTxn::FindReport(int64_t id) {
  NATTER_TRY(auto r, accounts_.Query("SELECT " REPORT_COLUMNS " FROM reports WHERE id = $1", {id}));
  return OneReport(r);
}

Result<std::vector<Report>> PgTxn::ListReports(std::string_view state, int64_t before_id, int limit) {
  NATTER_TRY(auto r, accounts_.Query("SELECT " REPORT_COLUMNS
                                     " FROM reports WHERE id < $1 AND ($2 = '' OR state = $2) ORDER BY id DESC "
                                     "LIMIT $3",
                                     {before_id, state, int64_t{limit}}));
  return Reports(r);
}

Result<bool> PgTxn::ClaimReport(int64_t id, UserId by) {
  NATTER_TRY(auto r, accounts_.Query("UPDATE reports SET state = 'resolving', resolved_by = $1 WHERE id = $2 "
                                     "AND state = 'open'",
                                     {by, id}));
  return r.affected() > 0;
}

Status PgTxn::ReleaseReport(int64_t id, UserId by) {
  NATTER_TRY(auto r, accounts_.Query("UPDATE reports SET state = 'open', resolved_by = 0 WHERE id = $1 "
                                     "AND state = 'resolving' AND resolved_by = $2",
                                     {id, by}));
  return OkStatus();
}

Result<bool> PgTxn::ResolveReport(int64_t id, UserId by, int64_t at_ms, std::string_view resolution,
                                  std::string_view note) {
  NATTER_TRY(auto r,
             accounts_.Query("UPDATE reports SET state = 'resolved', resolved_by = $1, resolved_at = $2, "
                             "resolution = $3, note = $4 WHERE id = $5 AND state = 'resolving' AND resolved_by = $1",
                             {by, at_ms, resolution, note, id}));
  return r.affected() > 0;
}

}  // namespace natter::pg
