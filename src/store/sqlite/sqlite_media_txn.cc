// SqliteTxn's media uploads.
#include "store/media_records.h"
#include "store/sqlite/sqlite_txn.h"

namespace natter::sqlite {

Status SqliteTxn::InsertUpload(const MediaUpload& u) {
  auto s = db_.Prepare("INSERT INTO media_uploads(" UPLOAD_COLUMNS ") VALUES(?,?,?,?,?,?,?,?,?,?)");
  s.Bind(1, u.id)
      .Bind(2, u.user_id)
      .Bind(3, u.size)
      .Bind(4, u.declared_mime)
      .Bind(5, u.filename)
      .Bind(6, static_cast<int64_t>(u.state))
      .Bind(7, u.created_at)
      .Bind(8, u.expires_at)
      .Bind(9, u.info)
      .Bind(10, u.store_ref);
  return s.Run();
}

Result<std::optional<MediaUpload>> SqliteTxn::FindUpload(int64_t id) {
  auto s = db_.Prepare("SELECT " UPLOAD_COLUMNS " FROM media_uploads WHERE id = ?");
  s.Bind(1, id);
  NATTER_TRY(bool row, s.Step());
  if (!row) return std::optional<MediaUpload>();
  return std::optional<MediaUpload>(rows::ReadUpload(s));
}

Result<bool> SqliteTxn::FinishUpload(int64_t id, std::string_view info, int64_t expires_at) {
  auto s = db_.Prepare("UPDATE media_uploads SET state = 1, info = ?, expires_at = ? WHERE id = ? AND state = 0");
  s.Bind(1, info).Bind(2, expires_at).Bind(3, id);
  NATTER_RETURN_IF_ERROR(s.Run());
  return db_.changes() > 0;
}

Result<bool> SqliteTxn::AttachUpload(int64_t id, UserId user, int64_t now_ms) {
  auto s = db_.Prepare(
      "UPDATE media_uploads SET state = 2, expires_at = 0 WHERE id = ? AND user_id = ? "
      "AND (state = 2 OR (state = 1 AND expires_at > ?))");
  s.Bind(1, id).Bind(2, user).Bind(3, now_ms);
  NATTER_RETURN_IF_ERROR(s.Run());
  return db_.changes() > 0;
}

Status SqliteTxn::DeleteUpload(int64_t id) {
  auto s = db_.Prepare("DELETE FROM media_uploads WHERE id = ?");
  s.Bind(1, id);
  return s.Run();
}

Status SqliteTxn::ExpireUpload(int64_t id) {
  auto s = db_.Prepare("UPDATE media_uploads SET state = 3, expires_at = 0 WHERE id = ? AND state = 1");
  s.Bind(1, id);
  return s.Run();
}

Result<MediaUsage> SqliteTxn::GetMediaUsage(UserId user, int64_t since_ms, int64_t now_ms) {
  auto s = db_.Prepare(
      "SELECT count(*) FILTER (WHERE created_at >= ?), "
      "coalesce(sum(size) FILTER (WHERE state != 0 OR expires_at > ?), 0) "
      "FROM media_uploads WHERE user_id = ?");
  s.Bind(1, since_ms).Bind(2, now_ms).Bind(3, user);
  NATTER_TRY(bool row, s.Step());
  if (!row) return MediaUsage{};
  return MediaUsage{s.Int(0), s.Int(1)};
}

Result<std::vector<MediaUpload>> SqliteTxn::ListExpiredUploads(int64_t now_ms, int limit) {
  auto s = db_.Prepare("SELECT " UPLOAD_COLUMNS
                       " FROM media_uploads WHERE expires_at != 0 AND expires_at < ? ORDER BY expires_at LIMIT ?");
  s.Bind(1, now_ms).Bind(2, int64_t{limit});
  std::vector<MediaUpload> out;
  for (;;) {
    NATTER_TRY(bool row, s.Step());
    if (!row) return out;
    out.push_back(rows::ReadUpload(s));
  }
}

}  // namespace natter::sqlite
