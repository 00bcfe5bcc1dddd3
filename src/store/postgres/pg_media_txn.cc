// PgTxn's media uploads: they live with the accounts (the first instance).
#include "store/media_records.h"
#include "store/postgres/pg_txn.h"

namespace natter::pg {

Status PgTxn::InsertUpload(const MediaUpload& u) {
  NATTER_TRY(auto r,
             accounts_.Query("INSERT INTO media_uploads(" UPLOAD_COLUMNS ") VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)",
                             {u.id, u.user_id, u.size, u.declared_mime, u.filename, static_cast<int64_t>(u.state),
                              u.created_at, u.expires_at, u.info, u.store_ref, u.attached_to}));
  return OkStatus();
}

Result<std::optional<MediaUpload>> PgTxn::FindUpload(int64_t id) {
  NATTER_TRY(auto r, accounts_.Query("SELECT " UPLOAD_COLUMNS " FROM media_uploads WHERE id = $1", {id}));
  if (r.empty()) return std::optional<MediaUpload>();
  return std::optional<MediaUpload>(rows::ReadUpload<Row>(r.At(0)));
}

Result<bool> PgTxn::FinishUpload(int64_t id, std::string_view info, int64_t expires_at) {
  NATTER_TRY(auto r, accounts_.Query("UPDATE media_uploads SET state = 1, info = $1, expires_at = $2 "
                                     "WHERE id = $3 AND state = 0",
                                     {std::string(info), expires_at, id}));
  return r.affected() > 0;
}

Result<bool> PgTxn::AttachUpload(int64_t id, UserId user, int64_t now_ms, std::string_view send_key) {
  NATTER_TRY(auto r, accounts_.Query("UPDATE media_uploads SET state = 2, expires_at = 0, attached_to = $4 "
                                     "WHERE id = $1 AND user_id = $2 "
                                     "AND ((state = 2 AND attached_to = $4) OR (state = 1 AND expires_at > $3))",
                                     {id, user, now_ms, std::string(send_key)}));
  return r.affected() > 0;
}

Result<bool> PgTxn::DeleteUploadIf(int64_t id, UploadState state, int64_t expired_before) {
  // Row locks make a second node's delete wait for the first and then find
  // nothing: only one of them gives back the upload's object uses.
  NATTER_TRY(auto r, accounts_.Query("DELETE FROM media_uploads WHERE id = $1 AND state = $2 "
                                     "AND ($3::bigint = 0 OR (expires_at <> 0 AND expires_at < $3::bigint))",
                                     {id, static_cast<int64_t>(state), expired_before}));
  return r.affected() > 0;
}

Status PgTxn::DeleteUpload(int64_t id) {
  NATTER_TRY(auto r, accounts_.Query("DELETE FROM media_uploads WHERE id = $1", {id}));
  return OkStatus();
}

Result<MediaUsage> PgTxn::GetMediaUsage(UserId user, int64_t since_ms, int64_t now_ms) {
  NATTER_TRY(auto r, accounts_.Query("SELECT count(*) FILTER (WHERE created_at >= $1), "
                                     "coalesce(sum(size) FILTER (WHERE state <> 0 OR expires_at > $2), 0) "
                                     "FROM media_uploads WHERE user_id = $3",
                                     {since_ms, now_ms, user}));
  if (r.empty()) return MediaUsage{};
  return MediaUsage{r.Int(0, 0), r.Int(0, 1)};
}

Result<std::vector<MediaUpload>> PgTxn::ListExpiredUploads(int64_t now_ms, int limit) {
  NATTER_TRY(auto r, accounts_.Query("SELECT " UPLOAD_COLUMNS " FROM media_uploads WHERE expires_at <> 0 "
                                     "AND expires_at < $1 ORDER BY expires_at LIMIT $2",
                                     {now_ms, int64_t{limit}}));
  std::vector<MediaUpload> out;
  out.reserve(r.size());
  for (int i = 0; i < r.size(); ++i) out.push_back(rows::ReadUpload<Row>(r.At(i)));
  return out;
}

Result<std::optional<int64_t>> PgTxn::RefObject(std::string_view sha256) {
  NATTER_TRY(auto r, accounts_.Query("UPDATE media_objects SET refs = refs + 1 WHERE sha256 = $1 RETURNING generation",
                                     {std::string(sha256)}));
  if (r.empty()) return std::optional<int64_t>();
  return std::optional<int64_t>(r.Int(0, 0));
}

Result<int64_t> PgTxn::AddObject(std::string_view sha256, int64_t generation) {
  NATTER_TRY(auto r, accounts_.Query("INSERT INTO media_objects(sha256, generation, refs) VALUES($1, $2, 1) "
                                     "ON CONFLICT (sha256) DO UPDATE SET refs = media_objects.refs + 1 "
                                     "RETURNING generation",
                                     {std::string(sha256), generation}));
  if (r.empty()) return Internal("the object catalog answered nothing");
  return r.Int(0, 0);
}

Result<bool> PgTxn::UnrefObject(std::string_view sha256, int64_t generation) {
  NATTER_TRY(auto r, accounts_.Query("UPDATE media_objects SET refs = refs - 1 WHERE sha256 = $1 AND generation = $2 "
                                     "AND refs > 0 RETURNING refs",
                                     {std::string(sha256), generation}));
  if (r.empty() || r.Int(0, 0) > 0) return false;
  NATTER_TRY(auto gone, accounts_.Query("DELETE FROM media_objects WHERE sha256 = $1 AND generation = $2 AND refs = 0",
                                        {std::string(sha256), generation}));
  return true;
}

Status PgTxn::AddMediaRelease(int64_t upload_id, int64_t due_at) {
  NATTER_TRY(auto r, db_.Query("INSERT INTO media_releases(upload_id, due_at) VALUES($1, $2) ON CONFLICT DO NOTHING",
                               {upload_id, due_at}));
  return OkStatus();
}

Result<std::vector<int64_t>> PgTxn::ListDueMediaReleases(int64_t now_ms, int limit) {
  NATTER_TRY(auto r, db_.Query("SELECT upload_id FROM media_releases WHERE due_at <= $1 ORDER BY due_at LIMIT $2",
                               {now_ms, int64_t{limit}}));
  std::vector<int64_t> out;
  for (int i = 0; i < r.size(); ++i) out.push_back(r.Int(i, 0));
  return out;
}

Status PgTxn::DeleteMediaRelease(int64_t upload_id) {
  NATTER_TRY(auto r, db_.Query("DELETE FROM media_releases WHERE upload_id = $1", {upload_id}));
  return OkStatus();
}

}  // namespace natter::pg
