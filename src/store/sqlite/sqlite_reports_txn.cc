// SqliteTxn's reports: users' reports of messages and users, the queue
// moderators work through (docs/admin.md).
#include "store/row_readers.h"
#include "store/sqlite/sqlite_txn.h"

namespace natter::sqlite {
namespace {

Result<std::vector<Report>> Reports(Statement& s) {
  std::vector<Report> out;
  for (;;) {
    NATTER_TRY(bool row, s.Step());
    if (!row) return out;
    out.push_back(rows::ReadReport(s));
  }
}

Result<std::optional<Report>> OneReport(Statement& s) {
  NATTER_TRY(auto all, Reports(s));
  if (all.empty()) return std::optional<Report>();
  return std::optional<Report>(std::move(all.front()));
}

}  // namespace

Result<int64_t> SqliteTxn::InsertReport(const Report& r) {
  auto s = db_.Prepare(
      "INSERT INTO reports(created_at, reporter_id, target_user, conversation_id, seq, reason, text, message_text, "
      "state) VALUES(?,?,?,?,?,?,?,?,?) RETURNING id");
  s.Bind(1, r.created_at)
      .Bind(2, r.reporter)
      .Bind(3, r.target_user)
      .Bind(4, r.conversation_id)
      .Bind(5, r.seq)
      .Bind(6, r.reason)
      .Bind(7, r.text)
      .Bind(8, r.message_text)
      .Bind(9, r.state);
  NATTER_TRY(bool row, s.Step());
  if (!row) return Internal("a report was not given an id");
  int64_t id = s.Int(0);
  NATTER_TRY(bool more, s.Step());  // finishes the statement
  (void)more;
  return id;
}

Result<std::optional<Report>> SqliteTxn::FindOpenReport(UserId reporter, UserId target_user, ConversationId c,
                                                        Seq seq) {
  auto s = db_.Prepare("SELECT " REPORT_COLUMNS
                       " FROM reports WHERE reporter_id = ? AND target_user = ? AND conversation_id = ? AND seq = ? "
                       "AND state = 'open' ORDER BY id LIMIT 1");
  s.Bind(1, reporter).Bind(2, target_user).Bind(3, c).Bind(4, seq);
  return OneReport(s);
}

Result<std::optional<Report>> SqliteTxn::FindReport(int64_t id) {
  auto s = db_.Prepare("SELECT " REPORT_COLUMNS " FROM reports WHERE id = ?");
  s.Bind(1, id);
  return OneReport(s);
}

Result<std::vector<Report>> SqliteTxn::ListReports(std::string_view state, int64_t before_id, int limit) {
  auto s = db_.Prepare("SELECT " REPORT_COLUMNS
                       " FROM reports WHERE id < ? AND (? = '' OR state = ?) ORDER BY id DESC LIMIT ?");
  s.Bind(1, before_id).Bind(2, state).Bind(3, state).Bind(4, int64_t{limit});
  return Reports(s);
}

Result<bool> SqliteTxn::ClaimReport(int64_t id, UserId by) {
  auto s = db_.Prepare("UPDATE reports SET state = 'resolving', resolved_by = ? WHERE id = ? AND state = 'open'");
  s.Bind(1, by).Bind(2, id);
  NATTER_RETURN_IF_ERROR(s.Run());
  return db_.changes() > 0;
}

Status SqliteTxn::ReleaseReport(int64_t id, UserId by) {
  auto s = db_.Prepare(
      "UPDATE reports SET state = 'open', resolved_by = 0 WHERE id = ? AND state = 'resolving' AND resolved_by = ?");
  s.Bind(1, id).Bind(2, by);
  return s.Run();
}

Result<bool> SqliteTxn::ResolveReport(int64_t id, UserId by, int64_t at_ms, std::string_view resolution,
                                      std::string_view note) {
  auto s = db_.Prepare(
      "UPDATE reports SET state = 'resolved', resolved_by = ?, resolved_at = ?, resolution = ?, note = ? "
      "WHERE id = ? AND state = 'resolving' AND resolved_by = ?");
  s.Bind(1, by).Bind(2, at_ms).Bind(3, resolution).Bind(4, note).Bind(5, id).Bind(6, by);
  NATTER_RETURN_IF_ERROR(s.Run());
  return db_.changes() > 0;
}

}  // namespace natter::sqlite
