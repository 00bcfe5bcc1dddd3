// SqliteTxn's media uploads.
#include "store/media_records.h"
#include "store/sqlite/sqlite_txn.h"

namespace natter::sqlite {

Status SqliteTxn::InsertUpload(const MediaUpload& u) {
  auto s = db_.Prepare("INSERT INTO media_uploads(" UPLOAD_COLUMNS ") VALUES(?,?,?,?,?,?,?,?,?,?,?)");
  s.Bind(1, u.id)
      .Bind(2, u.user_id)
      .Bind(3, u.size)
      .Bind(4, u.declared_mime)
      .Bind(5, u.filename)
      .Bind(6, static_cast<int64_t>(u.state))
      .Bind(7, u.created_at)
      .Bind(8, u.expires_at)
      .Bind(9, u.info)
      .Bind(10, u.store_ref)
      .Bind(11, u.attached_to);
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

Result<bool> SqliteTxn::AttachUpload(int64_t id, UserId user, int64_t now_ms, std::string_view send_key) {
  auto s = db_.Prepare(
      "UPDATE media_uploads SET state = 2, expires_at = 0, attached_to = ? WHERE id = ? AND user_id = ? "
      "AND ((state = 2 AND attached_to = ?) OR (state = 1 AND expires_at > ?))");
  s.Bind(1, send_key).Bind(2, id).Bind(3, user).Bind(4, send_key).Bind(5, now_ms);
  NATTER_RETURN_IF_ERROR(s.Run());
  return db_.changes() > 0;
}

Result<bool> SqliteTxn::DeleteUploadIf(int64_t id, UploadState state, int64_t expired_before) {
  auto s = db_.Prepare(
      "DELETE FROM media_uploads WHERE id = ? AND state = ? AND (? = 0 OR (expires_at != 0 AND expires_at < ?))");
  s.Bind(1, id).Bind(2, static_cast<int64_t>(state)).Bind(3, expired_before).Bind(4, expired_before);
  NATTER_RETURN_IF_ERROR(s.Run());
  return db_.changes() > 0;
}

Status SqliteTxn::DeleteUpload(int64_t id) {
  auto s = db_.Prepare("DELETE FROM media_uploads WHERE id = ?");
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

Result<std::optional<int64_t>> SqliteTxn::RefObject(std::string_view sha256) {
  auto s = db_.Prepare("UPDATE media_objects SET refs = refs + 1 WHERE sha256 = ? RETURNING generation");
  s.Bind(1, sha256);
  NATTER_TRY(bool row, s.Step());
  if (!row) return std::optional<int64_t>();
  return std::optional<int64_t>(s.Int(0));
}

Result<int64_t> SqliteTxn::AddObject(std::string_view sha256, int64_t generation) {
  auto s = db_.Prepare(
      "INSERT INTO media_objects(sha256, generation, refs) VALUES(?, ?, 1) "
      "ON CONFLICT(sha256) DO UPDATE SET refs = refs + 1 RETURNING generation");
  s.Bind(1, sha256).Bind(2, generation);
  NATTER_TRY(bool row, s.Step());
  if (!row) return Internal("the object catalog answered nothing");
  return s.Int(0);
}

Result<bool> SqliteTxn::UnrefObject(std::string_view sha256, int64_t generation) {
  auto s = db_.Prepare(
      "UPDATE media_objects SET refs = refs - 1 WHERE sha256 = ? AND generation = ? AND refs > 0 RETURNING refs");
  s.Bind(1, sha256).Bind(2, generation);
  NATTER_TRY(bool row, s.Step());
  if (!row || s.Int(0) > 0) return false;
  auto gone = db_.Prepare("DELETE FROM media_objects WHERE sha256 = ? AND generation = ? AND refs = 0");
  gone.Bind(1, sha256).Bind(2, generation);
  NATTER_RETURN_IF_ERROR(gone.Run());
  return true;
}

Status SqliteTxn::AddMediaRelease(int64_t upload_id, int64_t due_at) {
  auto s = db_.Prepare("INSERT OR IGNORE INTO media_releases(upload_id, due_at) VALUES(?, ?)");
  s.Bind(1, upload_id).Bind(2, due_at);
  return s.Run();
}

Result<std::vector<int64_t>> SqliteTxn::ListDueMediaReleases(int64_t now_ms, int limit) {
  auto s = db_.Prepare("SELECT upload_id FROM media_releases WHERE due_at <= ? ORDER BY due_at LIMIT ?");
  s.Bind(1, now_ms).Bind(2, int64_t{limit});
  std::vector<int64_t> out;
  for (;;) {
    NATTER_TRY(bool row, s.Step());
    if (!row) return out;
    out.push_back(s.Int(0));
  }
}

Status SqliteTxn::DeleteMediaRelease(int64_t upload_id) {
  auto s = db_.Prepare("DELETE FROM media_releases WHERE upload_id = ?");
  s.Bind(1, upload_id);
  return s.Run();
}

}  // namespace natter::sqlite
