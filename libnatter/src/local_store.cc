#include "local_store.h"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <filesystem>
#include <stdexcept>

#include "common/json_lookup.h"
#include "common/private_files.h"

namespace natter::client {

namespace json = boost::json;

namespace {

constexpr int64_t kSchemaVersion = 4;

const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS conversations (
  id INTEGER PRIMARY KEY, kind TEXT, title TEXT, last_seq INTEGER, large INTEGER, my_role TEXT,
  last_activity INTEGER);
-- Conversations known to be end-to-end encrypted. Kept apart, and through a
-- resync or a removal: a conversation never stops being encrypted, whatever
-- a later listing says, so nothing plain is ever sent there.
CREATE TABLE IF NOT EXISTS encrypted_conversations (id INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS entries (
  conversation_id INTEGER, seq INTEGER, kind TEXT, sender_id INTEGER, client_msg_id TEXT,
  text TEXT, reply_to INTEGER, target_seq INTEGER, created_at INTEGER, edited_at INTEGER,
  deleted INTEGER NOT NULL DEFAULT 0, json TEXT, PRIMARY KEY (conversation_id, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS receipts (
  conversation_id INTEGER, user_id INTEGER, delivered_seq INTEGER, read_seq INTEGER,
  role TEXT NOT NULL DEFAULT '', PRIMARY KEY (conversation_id, user_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS users (user_id INTEGER PRIMARY KEY, handle TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS outbox (
  client_msg_id TEXT PRIMARY KEY, conversation_id INTEGER, text TEXT, reply_to INTEGER,
  state TEXT, seq INTEGER NOT NULL DEFAULT 0, error TEXT NOT NULL DEFAULT '', created INTEGER);
CREATE TABLE IF NOT EXISTS outbox_files (
  client_msg_id TEXT, idx INTEGER, path TEXT, mime TEXT, filename TEXT, caption TEXT, size INTEGER,
  media_id INTEGER NOT NULL DEFAULT 0, upload_url TEXT NOT NULL DEFAULT '', etags TEXT NOT NULL DEFAULT '',
  ready INTEGER NOT NULL DEFAULT 0, thumb_of INTEGER NOT NULL DEFAULT -1, sealed TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (client_msg_id, idx)) WITHOUT ROWID;
)sql";

using json_lookup::Int;
using json_lookup::Str;

void Check(const Status& st) {
  if (!st.ok()) throw std::runtime_error(st.error().message);
}

}  // namespace

LocalStore::LocalStore(const std::string& directory) {
  (void)MakePrivateDirectory(directory);  // an app's own directory; its files are 0600 either way
  path_ = (std::filesystem::path(directory) / "natter-client.db").string();
  try {
    Open(path_);
  } catch (const std::exception&) {
    // A corrupt store is not worth a crash: start empty and resync. Unsent
    // messages in it are lost with it; there is nothing better to do.
    db_.reset();
    std::filesystem::remove(path_);
    std::filesystem::remove(path_ + "-wal");
    std::filesystem::remove(path_ + "-shm");
    Open(path_);
  }
}

void LocalStore::Open(const std::string& path) {
  db_ = std::make_unique<sqlite::Database>(path, false);
  // Pages freed by retention go back to the file system (Compact). A store
  // made before that was set is rewritten once, keeping what it holds.
  bool incremental = [&] {
    auto mode = db_->Prepare("PRAGMA auto_vacuum");
    auto row = mode.Step();
    return row.ok() && *row && mode.Int(0) == 2;
  }();  // (the statement is finished before VACUUM, which needs none running)
  if (!incremental) {
    // Best effort: a full disk or a busy file leaves the store as it is (it
    // still works, only without giving pages back), never loses it.
    (void)db_->Exec("PRAGMA auto_vacuum = INCREMENTAL");
    (void)db_->Exec("VACUUM");
  }
  Check(db_->Exec("PRAGMA journal_mode=WAL"));
  Check(db_->Exec("PRAGMA synchronous=FULL"));  // the outbox must survive a crash
  Check(db_->Exec("PRAGMA quick_check"));
  auto version = db_->Prepare("PRAGMA user_version");
  auto row = version.Step();
  int64_t found = row.ok() && *row ? version.Int(0) : 0;
  auto tables = db_->Prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table'");
  auto trow = tables.Step();
  bool empty = trow.ok() && *trow && tables.Int(0) == 0;
  if (found >= 2 && found < kSchemaVersion && !empty) {
    // Version 3 added videos' poster frames: an outbox of version 2 is kept
    // (its outbox_files may be missing, or have the column already if an
    // earlier try was cut). Version 4 marks encrypted conversations (a table
    // of its own) and keeps their outgoing files' keys. One
    // transaction: a kill leaves the version before.
    Check(db_->Exec("BEGIN IMMEDIATE"));
    // A column added to a table the store has, unless an earlier try added it.
    auto add_column = [this](const char* info_sql, const char* column, const char* alter_sql) {
      bool has_table = false, has_column = false;
      {
        auto columns = db_->Prepare(info_sql);
        for (auto row = columns.Step(); row.ok() && *row; row = columns.Step()) {
          has_table = true;
          has_column |= columns.Text(1) == column;
        }
      }
      if (has_table && !has_column) Check(db_->Exec(alter_sql));
    };
    add_column("PRAGMA table_info(outbox_files)", "thumb_of",
               "ALTER TABLE outbox_files ADD COLUMN thumb_of INTEGER NOT NULL DEFAULT -1");
    add_column("PRAGMA table_info(outbox_files)", "sealed",
               "ALTER TABLE outbox_files ADD COLUMN sealed TEXT NOT NULL DEFAULT ''");
    Check(db_->Exec(kSchema));
    Check(db_->Exec(("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str()));
    Check(db_->Exec("COMMIT"));
    found = kSchemaVersion;
  }
  if (found != kSchemaVersion && !empty) {
    // A store from another version of the library: start over (the server
    // has everything but what was never sent).
    throw std::runtime_error("local store has schema " + std::to_string(found));
  }
  Check(db_->Exec(kSchema));
  Check(db_->Exec(("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str()));
}

LocalStore::Batch::Batch(LocalStore& store) : store_(store) { Check(store_.db_->Exec("BEGIN IMMEDIATE")); }

LocalStore::Batch::~Batch() {
  if (!open_) return;
  (void)store_.db_->Exec("ROLLBACK");
  store_.encrypted_.reset();
}

void LocalStore::Batch::Commit() {
  Check(store_.db_->Exec("COMMIT"));
  open_ = false;
}

std::optional<std::string> LocalStore::Get(const std::string& key) {
  auto s = db_->Prepare("SELECT value FROM kv WHERE key = ?");
  s.Bind(1, key);
  auto row = s.Step();
  if (!row.ok() || !*row) return std::nullopt;
  return s.Text(0);
}

void LocalStore::Put(const std::string& key, const std::string& value) {
  auto s =
      db_->Prepare("INSERT INTO kv(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  s.Bind(1, key).Bind(2, value);
  Check(s.Run());
}

void LocalStore::ErasePrefix(const std::string& prefix) {
  auto s = db_->Prepare("DELETE FROM kv WHERE substr(key, 1, length(?1)) = ?1");
  s.Bind(1, prefix);
  Check(s.Run());
}

void LocalStore::Erase(const std::string& key) {
  auto s = db_->Prepare("DELETE FROM kv WHERE key = ?");
  s.Bind(1, key);
  Check(s.Run());
}

void LocalStore::ClearSyncedState() {
  // The entries of encrypted conversations stay: their ciphertexts decrypt
  // once, so what the server sends again is read from here.
  Check(
      db_->Exec("DELETE FROM entries WHERE conversation_id NOT IN (SELECT id FROM encrypted_conversations); "
                "DELETE FROM conversations; DELETE FROM receipts; "
                "DELETE FROM kv WHERE key = 'sync_token' OR key = 'pts';"));
}

void LocalStore::ClearAll() {
  Check(db_->Exec(
      "DELETE FROM conversations; DELETE FROM entries; DELETE FROM receipts; DELETE FROM kv; "
      "DELETE FROM outbox; DELETE FROM outbox_files; DELETE FROM users; DELETE FROM encrypted_conversations;"));
  encrypted_.reset();
}

void LocalStore::UpsertConversation(const json::object& c, const std::string& my_role) {
  auto s = db_->Prepare(
      "INSERT INTO conversations(id, kind, title, last_seq, large, my_role, last_activity) VALUES(?,?,?,?,?,?,?) "
      "ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, title = excluded.title, "
      "last_seq = max(last_seq, excluded.last_seq), large = excluded.large, "
      "my_role = CASE WHEN excluded.my_role = '' THEN my_role ELSE excluded.my_role END, "
      "last_activity = max(last_activity, excluded.last_activity)");
  const json::value* large = c.if_contains("large");
  const json::value* encrypted = c.if_contains("encrypted");
  s.Bind(1, Int(c, "id"))
      .Bind(2, Str(c, "kind"))
      .Bind(3, Str(c, "title"))
      .Bind(4, Int(c, "last_seq"))
      .Bind(5, int64_t{large && large->is_bool() && large->as_bool()})
      .Bind(6, my_role)
      .Bind(7, Int(c, "last_activity"));
  Check(s.Run());
  if (encrypted && encrypted->is_bool() && encrypted->as_bool()) {
    auto e = db_->Prepare("INSERT OR IGNORE INTO encrypted_conversations(id) VALUES(?)");
    e.Bind(1, Int(c, "id"));
    Check(e.Run());
    if (encrypted_) encrypted_->insert(Int(c, "id"));
  }
}

void LocalStore::RemoveConversation(int64_t id) {
  for (const char* sql : {"DELETE FROM conversations WHERE id = ?", "DELETE FROM entries WHERE conversation_id = ?",
                          "DELETE FROM receipts WHERE conversation_id = ?"}) {
    auto s = db_->Prepare(sql);
    s.Bind(1, id);
    Check(s.Run());
  }
}

json::array LocalStore::Conversations(int64_t me) {
  auto s = db_->Prepare(
      "SELECT c.id, c.kind, c.title, c.last_seq, c.large, c.my_role, c.last_activity, "
      "EXISTS(SELECT 1 FROM encrypted_conversations x WHERE x.id = c.id), "
      "coalesce((SELECT read_seq FROM receipts r WHERE r.conversation_id = c.id AND r.user_id = ?1), 0), "
      "(SELECT json FROM entries e WHERE e.conversation_id = c.id AND e.kind = 'message' "
      "   ORDER BY seq DESC LIMIT 1), "
      "p.peer, (SELECT handle FROM users u WHERE u.user_id = p.peer) "
      "FROM conversations c "
      // A direct conversation is named by the other member.
      "LEFT JOIN (SELECT conversation_id, min(user_id) AS peer FROM receipts "
      "           WHERE user_id != ?1 AND role != '' GROUP BY conversation_id) p "
      "  ON p.conversation_id = c.id AND c.kind = 'direct' "
      "ORDER BY c.last_activity DESC, c.id DESC");
  s.Bind(1, me);
  json::array out;
  for (;;) {
    auto row = s.Step();
    if (!row.ok() || !*row) break;
    int64_t id = s.Int(0), read_seq = s.Int(8);
    json::object c{{"id", id},
                   {"kind", s.Text(1)},
                   {"title", s.Text(2)},
                   {"last_seq", s.Int(3)},
                   {"large", s.Int(4) != 0},
                   {"my_role", s.Text(5)},
                   {"last_activity", s.Int(6)},
                   {"encrypted", s.Int(7) != 0},
                   {"read_seq", read_seq}};
    c["last_message"] = s.IsNull(9) ? json::value(nullptr) : json::parse(s.Text(9));
    if (!s.IsNull(10)) c["peer_id"] = s.Int(10);
    if (!s.IsNull(11)) c["peer_handle"] = s.Text(11);
    // Unread as the server counts it: others' messages after my read mark, not deleted.
    auto u = db_->Prepare(
        "SELECT count(*) FROM entries WHERE conversation_id = ? AND seq > ? AND kind = 'message' "
        "AND deleted = 0 AND sender_id != ?");
    u.Bind(1, id).Bind(2, read_seq).Bind(3, me);
    auto urow = u.Step();
    c["unread"] = urow.ok() && *urow ? u.Int(0) : 0;
    out.push_back(std::move(c));
  }
  return out;
}

void LocalStore::ApplyEntry(const json::object& e) {
  int64_t conv = Int(e, "conversation_id"), seq = Int(e, "seq");
  std::string kind = Str(e, "kind");
  if (kind.empty()) kind = "message";
  auto s = db_->Prepare(
      "INSERT INTO entries(conversation_id, seq, kind, sender_id, client_msg_id, text, reply_to, target_seq, "
      "created_at, edited_at, deleted, json) VALUES(?,?,?,?,?,?,?,?,?,?,?,?) "
      "ON CONFLICT(conversation_id, seq) DO UPDATE SET text = excluded.text, edited_at = excluded.edited_at, "
      "deleted = max(deleted, excluded.deleted), json = excluded.json");
  auto opt = [&](const char* key) -> std::optional<int64_t> {
    auto* v = e.if_contains(key);
    return v && v->is_int64() ? std::optional<int64_t>(v->as_int64()) : std::nullopt;
  };
  const json::value* deleted = e.if_contains("deleted");
  s.Bind(1, conv)
      .Bind(2, seq)
      .Bind(3, kind)
      .Bind(4, Int(e, "sender_id"))
      .Bind(5, Str(e, "client_msg_id"))
      .Bind(6, Str(e, "text"))
      .Bind(7, opt("reply_to"))
      .Bind(8, opt("target_seq"))
      .Bind(9, Int(e, "created_at"))
      .Bind(10, opt("edited_at"))
      .Bind(11, int64_t{deleted && deleted->is_bool() && deleted->as_bool()})
      .Bind(12, json::serialize(e));
  Check(s.Run());
  // Events change the message they are about.
  auto target = opt("target_seq");
  // An edit this device could not decrypt leaves the message as it was.
  if (kind == "edit" && target && !e.contains("undecryptable")) {
    auto u = db_->Prepare(
        "UPDATE entries SET text = ?, edited_at = ?, "
        "json = json_set(json, '$.text', ?, '$.edited_at', ?) WHERE conversation_id = ? AND seq = ?");
    u.Bind(1, Str(e, "text"))
        .Bind(2, Int(e, "created_at"))
        .Bind(3, Str(e, "text"))
        .Bind(4, Int(e, "created_at"))
        .Bind(5, conv)
        .Bind(6, *target);
    Check(u.Run());
  } else if (kind == "delete" && target) {
    auto u = db_->Prepare(
        "UPDATE entries SET text = '', deleted = 1, "
        "json = json_set(json_remove(json, '$.text'), '$.deleted', json('true')) "
        "WHERE conversation_id = ? AND (seq = ? OR (target_seq = ? AND kind IN ('edit','reaction')))");
    u.Bind(1, conv).Bind(2, *target).Bind(3, *target);
    Check(u.Run());
  }
  auto c = db_->Prepare(
      "UPDATE conversations SET last_seq = max(last_seq, ?), last_activity = max(last_activity, ?) "
      "WHERE id = ?");
  c.Bind(1, seq).Bind(2, Int(e, "created_at")).Bind(3, conv);
  Check(c.Run());
}

json::array LocalStore::History(int64_t conversation_id, std::optional<int64_t> before, int limit) {
  auto s = db_->Prepare("SELECT json FROM entries WHERE conversation_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?");
  s.Bind(1, conversation_id).Bind(2, before.value_or(INT64_MAX)).Bind(3, int64_t{limit});
  std::vector<json::value> rows;
  for (;;) {
    auto row = s.Step();
    if (!row.ok() || !*row) break;
    rows.push_back(json::parse(s.Text(0)));
  }
  json::array out;
  for (auto it = rows.rbegin(); it != rows.rend(); ++it) out.push_back(std::move(*it));
  return out;
}

void LocalStore::Compact(int64_t keep, int64_t created_before_ms, std::optional<int64_t> conversation_id) {
  // -1 stands for every conversation.
  int64_t only = conversation_id.value_or(-1);
  if (keep > 0) {
    auto s = db_->Prepare(
        "DELETE FROM entries WHERE (conversation_id, seq) IN ("
        "  SELECT conversation_id, seq FROM ("
        "    SELECT conversation_id, seq, row_number() OVER (PARTITION BY conversation_id ORDER BY seq DESC) AS n "
        "    FROM entries WHERE ?1 = -1 OR conversation_id = ?1) "
        "  WHERE n > ?2)");
    s.Bind(1, only).Bind(2, keep);
    Check(s.Run());
  }
  if (created_before_ms > 0) {
    auto s = db_->Prepare(
        "DELETE FROM entries WHERE (?1 = -1 OR conversation_id = ?1) AND created_at < ?2 "
        "AND seq != (SELECT coalesce(max(seq), 0) FROM entries newest "
        "           WHERE newest.conversation_id = entries.conversation_id AND newest.kind = 'message')");
    s.Bind(1, only).Bind(2, created_before_ms);
    Check(s.Run());
  }
  // What I sent is remembered for its receipt states while its entry is here.
  auto sent = db_->Prepare(
      "DELETE FROM outbox WHERE state = 'sent' AND (?1 = -1 OR conversation_id = ?1) AND NOT EXISTS "
      "(SELECT 1 FROM entries e WHERE e.conversation_id = outbox.conversation_id AND e.seq = outbox.seq)");
  sent.Bind(1, only);
  Check(sent.Run());
  Check(db_->Exec("PRAGMA incremental_vacuum"));
}

void LocalStore::SetReceipt(int64_t conversation_id, int64_t user_id, int64_t delivered, int64_t read) {
  auto s = db_->Prepare(
      "INSERT INTO receipts(conversation_id, user_id, delivered_seq, read_seq) VALUES(?,?,?,?) "
      "ON CONFLICT(conversation_id, user_id) DO UPDATE SET delivered_seq = max(delivered_seq, excluded.delivered_seq), "
      "read_seq = max(read_seq, excluded.read_seq)");
  s.Bind(1, conversation_id).Bind(2, user_id).Bind(3, delivered).Bind(4, read);
  Check(s.Run());
}

bool LocalStore::HasConversation(int64_t conversation_id) {
  auto s = db_->Prepare("SELECT 1 FROM conversations WHERE id = ?");
  s.Bind(1, conversation_id);
  auto row = s.Step();
  return row.ok() && *row;
}

bool LocalStore::IsEncrypted(int64_t conversation_id) {
  if (!encrypted_) {
    std::unordered_set<int64_t> ids;
    auto s = db_->Prepare("SELECT id FROM encrypted_conversations");
    for (;;) {
      auto row = s.Step();
      if (!row.ok()) return true;  // unreadable: never taken for plain (not cached)
      if (!*row) break;
      ids.insert(s.Int(0));
    }
    encrypted_ = std::move(ids);
  }
  return encrypted_->contains(conversation_id);
}

std::string LocalStore::Kind(int64_t conversation_id) {
  auto s = db_->Prepare("SELECT kind FROM conversations WHERE id = ?");
  s.Bind(1, conversation_id);
  auto row = s.Step();
  return row.ok() && *row ? s.Text(0) : "";
}

std::optional<json::object> LocalStore::FindEntry(int64_t conversation_id, int64_t seq) {
  auto s = db_->Prepare("SELECT json FROM entries WHERE conversation_id = ? AND seq = ?");
  s.Bind(1, conversation_id).Bind(2, seq);
  auto row = s.Step();
  if (!row.ok() || !*row) return std::nullopt;
  boost::system::error_code ec;
  json::value v = json::parse(s.Text(0), ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

bool LocalStore::HasEntry(int64_t conversation_id, int64_t seq) {
  auto s = db_->Prepare("SELECT 1 FROM entries WHERE conversation_id = ? AND seq = ?");
  s.Bind(1, conversation_id).Bind(2, seq);
  auto row = s.Step();
  return row.ok() && *row;
}

int64_t LocalStore::LastKnownSeq(int64_t conversation_id) {
  auto s = db_->Prepare(
      "SELECT max(coalesce((SELECT last_seq FROM conversations WHERE id = ?), 0), "
      "coalesce((SELECT max(seq) FROM entries WHERE conversation_id = ?), 0))");
  s.Bind(1, conversation_id).Bind(2, conversation_id);
  auto row = s.Step();
  return row.ok() && *row ? s.Int(0) : 0;
}

void LocalStore::ReplaceMembers(int64_t conversation_id, const std::vector<Member>& members) {
  // The list is the conversation's whole membership: who is not in it left.
  auto clear = db_->Prepare("UPDATE receipts SET role = '' WHERE conversation_id = ?");
  clear.Bind(1, conversation_id);
  Check(clear.Run());
  UpsertMembers(conversation_id, members);
}

void LocalStore::UpsertMembers(int64_t conversation_id, const std::vector<Member>& members) {
  for (const auto& m : members) {
    auto s = db_->Prepare(
        "INSERT INTO receipts(conversation_id, user_id, delivered_seq, read_seq, role) VALUES(?,?,?,?,?) "
        "ON CONFLICT(conversation_id, user_id) DO UPDATE SET role = excluded.role, "
        "delivered_seq = max(delivered_seq, excluded.delivered_seq), read_seq = max(read_seq, excluded.read_seq)");
    s.Bind(1, conversation_id).Bind(2, m.user_id).Bind(3, m.delivered_seq).Bind(4, m.read_seq).Bind(5, m.role);
    Check(s.Run());
  }
}

void LocalStore::RemoveMembers(int64_t conversation_id, const std::vector<int64_t>& user_ids) {
  for (int64_t u : user_ids) {
    auto s = db_->Prepare("UPDATE receipts SET role = '' WHERE conversation_id = ? AND user_id = ?");
    s.Bind(1, conversation_id).Bind(2, u);
    Check(s.Run());
  }
}

json::array LocalStore::Members(int64_t conversation_id) {
  auto s = db_->Prepare(
      "SELECT r.user_id, r.role, r.delivered_seq, r.read_seq, u.handle FROM receipts r "
      "LEFT JOIN users u ON u.user_id = r.user_id WHERE r.conversation_id = ? AND r.role != '' ORDER BY r.user_id");
  s.Bind(1, conversation_id);
  json::array out;
  for (;;) {
    auto row = s.Step();
    if (!row.ok() || !*row) return out;
    json::object m{{"user_id", s.Int(0)}, {"role", s.Text(1)}, {"delivered_seq", s.Int(2)}, {"read_seq", s.Int(3)}};
    if (!s.IsNull(4)) m["handle"] = s.Text(4);
    out.push_back(std::move(m));
  }
}

std::pair<int64_t, int64_t> LocalStore::OthersWatermarks(int64_t conversation_id, int64_t me) {
  auto s = db_->Prepare(
      "SELECT coalesce(max(delivered_seq), 0), coalesce(max(read_seq), 0) FROM receipts "
      "WHERE conversation_id = ? AND user_id != ?");
  s.Bind(1, conversation_id).Bind(2, me);
  auto row = s.Step();
  if (!row.ok() || !*row) return {0, 0};
  return {s.Int(0), s.Int(1)};
}

void LocalStore::RememberUser(int64_t user_id, const std::string& handle) {
  auto s = db_->Prepare("INSERT OR REPLACE INTO users(user_id, handle) VALUES(?, ?)");
  s.Bind(1, user_id).Bind(2, handle);
  Check(s.Run());
}

std::optional<std::pair<int64_t, std::string>> LocalStore::FindUser(std::optional<int64_t> user_id,
                                                                    const std::optional<std::string>& handle) {
  auto s = db_->Prepare("SELECT user_id, handle FROM users WHERE user_id = ? OR handle = ? LIMIT 1");
  s.Bind(1, user_id.value_or(0)).Bind(2, user_id ? std::string() : handle.value_or(""));
  auto row = s.Step();
  if (!row.ok() || !*row) return std::nullopt;
  return std::pair{s.Int(0), s.Text(1)};
}

void LocalStore::AddToOutbox(const OutboxEntry& e) {
  Batch batch(*this);  // the message and its files, or nothing
  auto s = db_->Prepare(
      "INSERT INTO outbox(client_msg_id, conversation_id, text, reply_to, state, created) "
      "VALUES(?,?,?,?, 'pending', (SELECT coalesce(max(created), 0) + 1 FROM outbox))");
  s.Bind(1, e.client_msg_id).Bind(2, e.conversation_id).Bind(3, e.text).Bind(4, e.reply_to);
  Check(s.Run());
  AddFiles(e);
  batch.Commit();
}

namespace {
OutboxEntry ReadOutbox(const sqlite::Statement& s) {
  return OutboxEntry{s.Text(0), s.Int(1), s.Text(2), s.OptInt(3), s.Text(4), s.Int(5), s.Text(6)};
}
#define OUTBOX_COLUMNS "client_msg_id, conversation_id, text, reply_to, state, seq, error"
}  // namespace

std::vector<OutboxEntry> LocalStore::PendingOutbox() {
  auto s = db_->Prepare("SELECT " OUTBOX_COLUMNS " FROM outbox WHERE state = 'pending' ORDER BY created");
  std::vector<OutboxEntry> out;
  for (;;) {
    auto row = s.Step();
    if (!row.ok() || !*row) return out;
    out.push_back(ReadOutbox(s));
    LoadFiles(out.back());
  }
}

std::optional<OutboxEntry> LocalStore::FindOutbox(const std::string& client_msg_id) {
  auto s = db_->Prepare("SELECT " OUTBOX_COLUMNS " FROM outbox WHERE client_msg_id = ?");
  s.Bind(1, client_msg_id);
  auto row = s.Step();
  if (!row.ok() || !*row) return std::nullopt;
  OutboxEntry e = ReadOutbox(s);
  LoadFiles(e);
  return e;
}

void LocalStore::MarkSent(const std::string& client_msg_id, int64_t seq) {
  auto s = db_->Prepare("UPDATE outbox SET state = 'sent', seq = ? WHERE client_msg_id = ?");
  s.Bind(1, seq).Bind(2, client_msg_id);
  Check(s.Run());
  auto files = db_->Prepare("DELETE FROM outbox_files WHERE client_msg_id = ?");  // their uploads are done with
  files.Bind(1, client_msg_id);
  Check(files.Run());
}

void LocalStore::MarkFailed(const std::string& client_msg_id, const std::string& error) {
  auto s = db_->Prepare("UPDATE outbox SET state = 'failed', error = ? WHERE client_msg_id = ?");
  s.Bind(1, error).Bind(2, client_msg_id);
  Check(s.Run());
}

std::vector<OutboxEntry> LocalStore::SentIn(int64_t conversation_id) {
  auto s = db_->Prepare("SELECT " OUTBOX_COLUMNS " FROM outbox WHERE state = 'sent' AND conversation_id = ?");
  s.Bind(1, conversation_id);
  std::vector<OutboxEntry> out;
  for (;;) {
    auto row = s.Step();
    if (!row.ok() || !*row) return out;
    out.push_back(ReadOutbox(s));
  }
}

}  // namespace natter::client
