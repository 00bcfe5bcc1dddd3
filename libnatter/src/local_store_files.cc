// LocalStore: the files attached to outbox entries, and where each upload
// stands.
#include "local_store.h"

namespace natter::client {
namespace {

void Check(const Status& st) {
  if (!st.ok()) throw std::runtime_error(st.error().message);
}

}  // namespace

void LocalStore::AddFiles(const OutboxEntry& e) {
  for (const auto& f : e.files) {
    auto s = db_->Prepare(
        "INSERT INTO outbox_files(client_msg_id, idx, path, mime, filename, caption, size, thumb_of, sealed) "
        "VALUES(?,?,?,?,?,?,?,?,?)");
    s.Bind(1, e.client_msg_id)
        .Bind(2, int64_t{f.index})
        .Bind(3, f.path)
        .Bind(4, f.mime)
        .Bind(5, f.filename)
        .Bind(6, f.caption)
        .Bind(7, f.size)
        .Bind(8, int64_t{f.thumb_of})
        .Bind(9, f.sealed);
    Check(s.Run());
  }
}

void LocalStore::LoadFiles(OutboxEntry& e) {
  auto s = db_->Prepare(
      "SELECT idx, path, mime, filename, caption, size, media_id, upload_url, etags, ready, thumb_of, sealed "
      "FROM outbox_files WHERE client_msg_id = ? ORDER BY idx");
  s.Bind(1, e.client_msg_id);
  for (;;) {
    auto row = s.Step();
    if (!row.ok() || !*row) return;
    e.files.push_back(OutboxFile{static_cast<int>(s.Int(0)), s.Text(1), s.Text(2), s.Text(3), s.Text(4), s.Int(5),
                                 s.Int(6), s.Text(7), s.Text(8), s.Int(9) != 0, static_cast<int>(s.Int(10)),
                                 s.Text(11)});
  }
}

void LocalStore::SetUploadTarget(const std::string& client_msg_id, int index, int64_t media_id,
                                 const std::string& upload_url) {
  auto s = db_->Prepare(
      "UPDATE outbox_files SET media_id = ?, upload_url = ?, etags = '' WHERE client_msg_id = ? AND idx = ?");
  s.Bind(1, media_id).Bind(2, upload_url).Bind(3, client_msg_id).Bind(4, int64_t{index});
  Check(s.Run());
}

void LocalStore::SetUploadEtags(const std::string& client_msg_id, int index, const std::string& etags) {
  auto s = db_->Prepare("UPDATE outbox_files SET etags = ? WHERE client_msg_id = ? AND idx = ?");
  s.Bind(1, etags).Bind(2, client_msg_id).Bind(3, int64_t{index});
  Check(s.Run());
}

void LocalStore::MarkFileReady(const std::string& client_msg_id, int index) {
  auto s = db_->Prepare("UPDATE outbox_files SET ready = 1 WHERE client_msg_id = ? AND idx = ?");
  s.Bind(1, client_msg_id).Bind(2, int64_t{index});
  Check(s.Run());
}

void LocalStore::MarkFilesUnready(const std::string& client_msg_id) {
  auto s = db_->Prepare("UPDATE outbox_files SET ready = 0 WHERE client_msg_id = ?");
  s.Bind(1, client_msg_id);
  Check(s.Run());
}

void LocalStore::ResetUpload(const std::string& client_msg_id, int index) {
  SetUploadTarget(client_msg_id, index, 0, "");
}

}  // namespace natter::client
