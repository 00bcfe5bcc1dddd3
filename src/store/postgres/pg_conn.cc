#include "store/postgres/pg_conn.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <vector>

namespace natter::pg {

int64_t Rows::Int(int row, int col) const { return std::strtoll(PQgetvalue(r_, row, col), nullptr, 10); }

int64_t Rows::affected() const {
  const char* n = PQcmdTuples(r_);
  return n && *n ? std::strtoll(n, nullptr, 10) : 0;
}

std::string IdArray(const std::vector<int64_t>& ids) {
  std::string array = "{";
  for (size_t i = 0; i < ids.size(); ++i) array += (i ? "," : "") + std::to_string(ids[i]);
  return array + "}";
}

std::string TextArray(const std::vector<std::string>& values) {
  std::string array = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    array += i ? ",\"" : "\"";
    for (char c : values[i]) {
      if (c == '"' || c == '\\') array += '\\';
      array += c;
    }
    array += '"';
  }
  return array + "}";
}

bool IsRetryable(std::string_view sqlstate) { return sqlstate == "40P01" || sqlstate == "40001"; }

Connection::Connection(std::string conninfo, std::string label)
    : conninfo_(std::move(conninfo)), label_(std::move(label)) {}

Connection::~Connection() {
  if (conn_) PQfinish(conn_);
}

Status Connection::EnsureConnected() {
  if (!broken()) return OkStatus();
  if (in_transaction_) return Unavailable("storage " + label_ + " went away during a transaction");
  auto now = std::chrono::steady_clock::now();
  // A connection that worked may be replaced at once (the instance came
  // back); one that failed to connect is tried again after a second.
  if (conn_ != nullptr && !was_connected_ && now - last_attempt_ < std::chrono::seconds(1)) {
    return Unavailable("storage " + label_ + " is unavailable");
  }
  last_attempt_ = now;
  if (conn_) PQfinish(conn_);
  prepared_.clear();
  // Bounded waits: an instance that stops answering (packets dropped, not
  // refused) must cost its callers an error in seconds, not a thread for the
  // kernel's two hours. The URL's own settings come last and win.
  const char* keys[] = {"connect_timeout",  "keepalives",       "keepalives_idle", "keepalives_interval",
                        "keepalives_count", "tcp_user_timeout", "dbname",          nullptr};
  const char* values[] = {"3", "1", "5", "2", "3", "10000", conninfo_.c_str(), nullptr};
  conn_ = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  was_connected_ = PQstatus(conn_) == CONNECTION_OK;
  if (!was_connected_) {
    spdlog::warn("store: cannot connect to {}: {}", label_, PQerrorMessage(conn_));
    return Unavailable("storage " + label_ + " is unavailable");
  }
  // Nor may a statement, a lock wait or a transaction left open by a stalled
  // node hold rows (a conversation, members' log heads) for long.
  PGresult* limits = PQexec(conn_,
                            "SET statement_timeout = '15s'; SET lock_timeout = '10s'; "
                            "SET idle_in_transaction_session_timeout = '30s'");
  PQclear(limits);
  // Keep the server's notices (e.g. "relation already exists") out of stderr.
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
  return OkStatus();
}

Error Connection::Failure(PGresult* r, std::string_view what) {
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  last_sqlstate_ = state ? state : "";
  std::string message = r ? PQresultErrorMessage(r) : PQerrorMessage(conn_);
  if (r) PQclear(r);
  // Class 08 (connection), 57P0x (server shutting down), or no answer at all.
  if (broken() || last_sqlstate_.empty() || last_sqlstate_.starts_with("08") || last_sqlstate_.starts_with("57P")) {
    spdlog::warn("store: {} failed on {}: {}", what, label_, message);
    return Unavailable("storage " + label_ + " is unavailable");
  }
  if (last_sqlstate_ == "23505") return Conflict("already exists");
  // A statement or a lock wait past its time (statement_timeout,
  // lock_timeout): the instance is too busy, or the work too big, for now.
  if (last_sqlstate_ == "57014" || last_sqlstate_ == "55P03") {
    spdlog::warn("store: {} ran out of time on {}: {}", what, label_, message);
    return Unavailable("storage " + label_ + " timed out");
  }
  if (IsRetryable(last_sqlstate_)) return Unavailable("storage conflict, retry");
  spdlog::error("store: {} failed on {}: {}", what, label_, message);
  return Internal("storage error");
}

Result<Rows> Connection::Query(const char* sql, std::initializer_list<Param> params) {
  last_sqlstate_.clear();
  NATTER_RETURN_IF_ERROR(EnsureConnected());
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    std::string name = "s" + std::to_string(prepared_.size());
    PGresult* r = PQprepare(conn_, name.c_str(), sql, static_cast<int>(params.size()), nullptr);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) return Failure(r, "prepare");
    PQclear(r);
    it = prepared_.emplace(sql, std::move(name)).first;
  }
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p.c_str());
  PGresult* r =
      PQexecPrepared(conn_, it->second.c_str(), static_cast<int>(values.size()), values.data(), nullptr, nullptr, 0);
  auto status = PQresultStatus(r);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) return Failure(r, "query");
  return Rows(r);
}

Status Connection::Exec(const std::string& sql) {
  last_sqlstate_.clear();
  NATTER_RETURN_IF_ERROR(EnsureConnected());
  PGresult* r = PQexec(conn_, sql.c_str());
  auto status = PQresultStatus(r);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) return Failure(r, "statement");
  PQclear(r);
  return OkStatus();
}

Status Connection::Begin(const std::string& sql) {
  Status st = Exec(sql);
  in_transaction_ = st.ok();
  return st;
}

Status Connection::Commit() {
  if (!TransactionUsable()) {
    Rollback();
    return Unavailable("storage " + label_ + ": the transaction failed");
  }
  last_sqlstate_.clear();
  PGresult* r = PQexec(conn_, "COMMIT");
  auto status = PQresultStatus(r);
  if (status != PGRES_COMMAND_OK) {
    in_transaction_ = false;
    return Failure(r, "commit");
  }
  bool committed = std::string_view(PQcmdStatus(r)) == "COMMIT";
  PQclear(r);
  in_transaction_ = false;
  if (!committed) return Unavailable("storage " + label_ + ": the transaction was rolled back");
  return OkStatus();
}

void Connection::Rollback() {
  if (conn_ && !broken()) PQclear(PQexec(conn_, "ROLLBACK"));
  in_transaction_ = false;
}

}  // namespace natter::pg
