#include "e2ee/sqlite_protocol_store.h"

#include <openssl/crypto.h>

#include <stdexcept>

#include "common/private_files.h"
#include "e2ee/device_crypto.h"
#include "e2ee/sealed_box.h"

namespace natter::e2ee {
namespace {

struct StatementFree {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Statement = std::unique_ptr<sqlite3_stmt, StatementFree>;

Statement Prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK) {
    throw std::runtime_error(std::string("device store: ") + sqlite3_errmsg(db));
  }
  return Statement(s);
}

void BindText(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

void Done(sqlite3* db, sqlite3_stmt* s) {
  if (sqlite3_step(s) != SQLITE_DONE) throw std::runtime_error(std::string("device store: ") + sqlite3_errmsg(db));
}

std::string Context(const char* kind, const std::string& key) { return std::string(kind) + ":" + key; }

// A value that does not open with the key: the wrong key (or a changed file).
struct SealBroken : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void Exec(sqlite3* db, const char* sql) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    throw std::runtime_error(std::string("device store: ") + sqlite3_errmsg(db));
  }
}

constexpr const char* kSchema =
    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
    "CREATE TABLE IF NOT EXISTS sealed (kind TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, "
    "PRIMARY KEY (kind, key)) WITHOUT ROWID;";

}  // namespace

Result<std::unique_ptr<SqliteProtocolStore>> SqliteProtocolStore::Open(const std::string& path,
                                                                       std::string sealing_key) {
  if (sealing_key.size() != kSealingKeyBytes) return BadRequest("the device store's key must be 32 bytes");
  sqlite3* db = nullptr;
  MakePrivateFile(path);  // sealed, and still nobody else's to read
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr) !=
          SQLITE_OK ||
      sqlite3_busy_timeout(db, 5000) != SQLITE_OK ||
      sqlite3_exec(db, kSchema, nullptr, nullptr, nullptr) != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Unavailable("the device store cannot be opened: " + why);
  }
  std::unique_ptr<SqliteProtocolStore> store(new SqliteProtocolStore(db, std::move(sealing_key)));
  try {
    auto pub = store->Load("self", "public");
    auto priv = store->Load("self", "private");
    auto registration = store->Load("self", "registration");
    if (!pub && !priv && !registration) {
      // A new device: its identity is made here, once, in one write.
      IdentityKeyPair identity = DeviceCrypto::NewIdentity();
      uint32_t id = DeviceCrypto::NewRegistrationId();
      Exec(db, "BEGIN IMMEDIATE");
      try {
        store->Save("self", "public", identity.public_key);
        store->Save("self", "private", identity.private_key);
        store->Save("self", "registration", std::to_string(id));
        Exec(db, "COMMIT");
      } catch (...) {
        sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
      }
      store->identity_ = std::move(identity);
      store->registration_id_ = id;
    } else if (!pub || !priv || !registration) {
      return Unavailable("the device store holds part of an identity: it was changed outside libnatter");
    } else {
      store->identity_ = IdentityKeyPair{std::move(*pub), std::move(*priv)};
      store->registration_id_ = static_cast<uint32_t>(std::stoul(*registration));
    }
  } catch (const SealBroken&) {
    return Forbidden("the device store does not open with this key");
  } catch (const std::exception& e) {
    return Unavailable(std::string("the device store cannot be read: ") + e.what());
  }
  return store;
}

SqliteProtocolStore::~SqliteProtocolStore() {
  OPENSSL_cleanse(key_.data(), key_.size());
  OPENSSL_cleanse(identity_.private_key.data(), identity_.private_key.size());
  sqlite3_close(db_);
}

std::optional<std::string> SqliteProtocolStore::Load(const char* kind, const std::string& key) {
  Statement s = Prepare(db_, "SELECT value FROM sealed WHERE kind = ? AND key = ?");
  sqlite3_bind_text(s.get(), 1, kind, -1, SQLITE_STATIC);
  BindText(s.get(), 2, key);
  int rc = sqlite3_step(s.get());
  if (rc == SQLITE_DONE) return std::nullopt;
  if (rc != SQLITE_ROW) throw std::runtime_error(std::string("device store: ") + sqlite3_errmsg(db_));
  std::string sealed(static_cast<const char*>(sqlite3_column_blob(s.get(), 0)),
                     static_cast<size_t>(sqlite3_column_bytes(s.get(), 0)));
  auto value = Unseal(key_, Context(kind, key), sealed);
  if (!value) throw SealBroken("a sealed value does not open with this key");
  return value;
}

void SqliteProtocolStore::Save(const char* kind, const std::string& key, const std::string& value) {
  std::string sealed = Seal(key_, Context(kind, key), value);
  Statement s = Prepare(db_,
                        "INSERT INTO sealed(kind, key, value) VALUES(?, ?, ?) "
                        "ON CONFLICT(kind, key) DO UPDATE SET value = excluded.value");
  sqlite3_bind_text(s.get(), 1, kind, -1, SQLITE_STATIC);
  BindText(s.get(), 2, key);
  sqlite3_bind_blob(s.get(), 3, sealed.data(), static_cast<int>(sealed.size()), SQLITE_TRANSIENT);
  Done(db_, s.get());
}

bool SqliteProtocolStore::Delete(const char* kind, const std::string& key) {
  Statement s = Prepare(db_, "DELETE FROM sealed WHERE kind = ? AND key = ?");
  sqlite3_bind_text(s.get(), 1, kind, -1, SQLITE_STATIC);
  BindText(s.get(), 2, key);
  Done(db_, s.get());
  return sqlite3_changes(db_) > 0;
}

// A user's sessions are the keys "<name>.<device>": those from "<name>."
// up to "<name>/" ('/' follows '.'), compared byte by byte.
std::vector<int32_t> SqliteProtocolStore::SessionDevices(const std::string& name) {
  Statement s = Prepare(db_, "SELECT key FROM sealed WHERE kind = 'session' AND key >= ? AND key < ?");
  std::string prefix = name + ".";
  BindText(s.get(), 1, prefix);
  BindText(s.get(), 2, name + "/");
  std::vector<int32_t> out;
  int rc = 0;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    std::string key(reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 0)));
    out.push_back(static_cast<int32_t>(std::stol(key.substr(prefix.size()))));
  }
  if (rc != SQLITE_DONE) throw std::runtime_error(std::string("device store: ") + sqlite3_errmsg(db_));
  return out;
}

int SqliteProtocolStore::DeleteSessions(const std::string& name) {
  Statement s = Prepare(db_, "DELETE FROM sealed WHERE kind = 'session' AND key >= ? AND key < ?");
  BindText(s.get(), 1, name + ".");
  BindText(s.get(), 2, name + "/");
  Done(db_, s.get());
  return sqlite3_changes(db_);
}

}  // namespace natter::e2ee
