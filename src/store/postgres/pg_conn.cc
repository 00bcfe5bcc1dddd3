#include "store/postgres/pg_conn.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <cstring>
#include <exception>
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

namespace {

// One element of an array literal, quoted: any text stays text.
void AppendQuoted(std::string& array, std::string_view value) {
  array += '"';
  for (char c : value) {
    if (c == '"' || c == '\\') array += '\\';
    array += c;
  }
  array += '"';
}

}  // namespace

std::string TextArray(const std::vector<std::string>& values) {
  std::string array = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) array += ',';
    AppendQuoted(array, values[i]);
  }
  return array + "}";
}

std::string ArrayOf(const std::vector<Param>& values) {
  std::string array = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) array += ',';
    const char* value = values[i].c_str();
    if (value) {
      AppendQuoted(array, value);
    } else {
      array += "NULL";
    }
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
  if (!broken() && (in_transaction_ || pipelined_ || !EndedWhileIdle())) return OkStatus();
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
                            "SET idle_in_transaction_session_timeout = '30s'; "
                            // NULL in an array literal is a null (kept-back writes rely on it)
                            "SET array_nulls = on");
  PQclear(limits);
  if (by_key_) PQclear(PQexec(conn_, "SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off"));
  // Keep the server's notices (e.g. "relation already exists") out of
  // stderr; a FATAL one that comes while idle means the session is over.
  ended_by_server_ = false;
  PQsetNoticeReceiver(
      conn_,
      [](void* self, const PGresult* r) {
        const char* severity = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
        if (severity && (std::strcmp(severity, "FATAL") == 0 || std::strcmp(severity, "PANIC") == 0)) {
          static_cast<Connection*>(self)->ended_by_server_ = true;
        }
      },
      this);
  return OkStatus();
}

// libpq learns that the server ended a session (a restart, a terminated
// backend, an idle timeout) only when it next reads, and that read would be
// the next statement's, which then fails though nothing of it ran. Reads
// what came without waiting: the server's parting FATAL message (libpq
// hands an error that comes while idle to the notice receiver) or the close.
// Only while libpq knows the session idle: a transaction begun by a plain
// statement (the migrations' BEGIN) must fail with its session, not go on
// in a new one.
bool Connection::EndedWhileIdle() {
  if (PQtransactionStatus(conn_) != PQTRANS_IDLE) return false;
  for (int i = 0; i < 2 && PQstatus(conn_) == CONNECTION_OK && !ended_by_server_; ++i) {
    if (!PQconsumeInput(conn_)) break;
    PQisBusy(conn_);  // parses what came, which reaches the notice receiver
  }
  if (PQstatus(conn_) == CONNECTION_OK && !ended_by_server_) return false;
  spdlog::info("store: {} ended the idle session; connecting again", label_);
  PQfinish(conn_);
  conn_ = nullptr;
  return true;
}

Error Connection::Failure(PGresult* r, std::string_view what) {
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  last_sqlstate_ = state ? state : "";
  std::string message = r ? PQresultErrorMessage(r) : PQerrorMessage(conn_);
  const char* field = r ? PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED) : nullptr;
  std::string severity = field ? field : "";  // copied: the result goes now
  if (r) PQclear(r);
  // The server ended the session (terminated, shutting down, idle too long):
  // its FATAL answer can come while the socket still looks open, and in a
  // pipeline libpq then answers the rest itself. The connection is gone.
  if (conn_ && (severity == "FATAL" || severity == "PANIC")) {
    PQfinish(conn_);
    conn_ = nullptr;
  }
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

const char* Connection::Prepared(const char* sql, int params, Status& failed) {
  auto it = prepared_.find(sql);
  if (it != prepared_.end()) return it->second.c_str();
  std::string name = "s" + std::to_string(statements_made_++);
  if (pipelined_) {
    // Its answer comes in turn; a failure fails the pipeline.
    if (!PQsendPrepare(conn_, name.c_str(), sql, params, nullptr)) {
      failed = Failure(nullptr, "prepare");
      return nullptr;
    }
    pending_.push_back(Pending{kUnread, sql});
    sync_due_ = true;
    unsynced_bytes_ += std::strlen(sql) + 64;
  } else {
    PGresult* r = PQprepare(conn_, name.c_str(), sql, params, nullptr);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
      failed = Failure(r, "prepare");
      return nullptr;
    }
    PQclear(r);
  }
  return prepared_.emplace(sql, std::move(name)).first->second.c_str();
}

Status Connection::SendKeptBack() {
  if (!kept_back_) return OkStatus();
  kept_back_ = false;
  // The caller counted them when it kept them (writes_sent() is what an
  // operation sent itself).
  uint64_t writes = writes_sent_;
  Status sent = OkStatus();
  try {
    sent = send_kept_back_ ? send_kept_back_() : Internal("storage: writes kept back with no way to send them");
  } catch (const std::exception& e) {
    sent = Internal(std::string("storage: sending kept-back writes: ") + e.what());
  }
  writes_sent_ = writes;
  // Some may have gone out and some not: an operation that already answered
  // ok counts on all of them, so nothing of the transaction may commit.
  if (!sent.ok() && pipelined_ && !pipeline_failed_) {
    pipeline_failed_ = true;
    pipeline_error_ = sent.error();
  }
  return sent;
}

Result<Rows> Connection::Query(const char* sql, std::initializer_list<Param> params) {
  NATTER_RETURN_IF_ERROR(SendKeptBack());
  if (pipelined_) {
    uint64_t writes_before = writes_sent_;
    NATTER_TRY(int ticket, Send(sql, params));
    NATTER_TRY(auto rows, Take(ticket));
    // A plain INSERT, UPDATE or DELETE that touched no row changed nothing
    // (the schema's triggers are per row): a taken handle, an unknown invite
    // code. One with a WITH clause may have changed rows in it.
    bool plain = std::strncmp(sql, "INSERT ", 7) == 0 || std::strncmp(sql, "UPDATE ", 7) == 0 ||
                 std::strncmp(sql, "DELETE ", 7) == 0;
    if (plain && rows.affected() == 0) writes_sent_ = writes_before;
    return rows;
  }
  last_sqlstate_.clear();
  NATTER_RETURN_IF_ERROR(EnsureConnected());
  Status failed = OkStatus();
  const char* name = Prepared(sql, static_cast<int>(params.size()), failed);
  if (!name) return failed.error();
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p.c_str());
  PGresult* r = PQexecPrepared(conn_, name, static_cast<int>(values.size()), values.data(), nullptr, nullptr, 0);
  auto status = PQresultStatus(r);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) return Failure(r, "query");
  return Rows(r);
}

Status Connection::SendPrepared(const char* sql, const char* name, std::initializer_list<Param> params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) {
    values.push_back(p.c_str());
    unsynced_bytes_ += p.size() + 4;
  }
  if (!PQsendQueryPrepared(conn_, name, static_cast<int>(values.size()), values.data(), nullptr, nullptr, 0)) {
    return Failure(nullptr, "query");
  }
  // A plain read changes nothing (one that locks rows changes only who waits).
  if (std::strncmp(sql, "SELECT ", 7) != 0) ++writes_sent_;
  sync_due_ = true;
  unsynced_bytes_ += 64;
  return OkStatus();
}

Status Connection::Defer(const char* sql, std::initializer_list<Param> params) {
  NATTER_RETURN_IF_ERROR(SendKeptBack());
  if (!pipelined_) {
    NATTER_TRY(auto rows, Query(sql, params));
    return OkStatus();
  }
  if (pipeline_failed_) return *pipeline_error_;
  // A long batch reads its answers now and then, so neither side's buffers
  // grow without bound.
  constexpr size_t kMaxUnread = 1000;
  if (pending_.size() >= kMaxUnread) {
    NATTER_TRY(auto none, Take(kAll));
  }
  Status failed = OkStatus();
  const char* name = Prepared(sql, static_cast<int>(params.size()), failed);
  if (!name) return failed;
  NATTER_RETURN_IF_ERROR(SendPrepared(sql, name, params));
  pending_.push_back(Pending{});
  return OkStatus();
}

Result<int> Connection::Send(const char* sql, std::initializer_list<Param> params) {
  NATTER_RETURN_IF_ERROR(SendKeptBack());
  int ticket = next_ticket_++;
  if (!pipelined_) {
    NATTER_TRY(auto rows, Query(sql, params));
    ready_.emplace_back(ticket, std::move(rows));
    return ticket;
  }
  if (pipeline_failed_) return *pipeline_error_;
  Status failed = OkStatus();
  const char* name = Prepared(sql, static_cast<int>(params.size()), failed);
  if (!name) return failed.error();
  NATTER_RETURN_IF_ERROR(SendPrepared(sql, name, params));
  pending_.push_back(Pending{ticket});
  return ticket;
}

// Takes `ticket`'s rows, reading every answer sent before it; kAll reads
// them all.
Result<Rows> Connection::Take(int ticket) {
  for (auto it = ready_.begin(); it != ready_.end(); ++it) {
    if (it->first != ticket) continue;
    Rows rows = std::move(it->second);
    ready_.erase(it);
    return rows;
  }
  if (!pipelined_) return Internal("storage: no such answer");
  // A sync rather than a flush request: PostgreSQL then times a transaction
  // left idle while this thread runs the batch's operations, so a stalled
  // node cannot hold the batch's locks past idle_in_transaction_session_timeout.
  if (sync_due_ && !SendSync()) return Failure(nullptr, "query");
  while (!pending_.empty()) {
    auto [next, prepared] = pending_.front();
    pending_.pop_front();
    if (next == kSync) {
      PGresult* r = PQgetResult(conn_);
      bool synced = r && PQresultStatus(r) == PGRES_PIPELINE_SYNC;
      if (r) PQclear(r);
      if (synced) continue;
      // Out of step with the server: nothing read from here can be trusted.
      PQfinish(conn_);
      conn_ = nullptr;
      if (!pipeline_failed_) {
        pipeline_failed_ = true;
        pipeline_error_ = Unavailable("storage " + label_ + " is unavailable");
      }
      return *pipeline_error_;
    }
    auto answer = ReadAnswer();
    if (!answer.ok()) {
      if (prepared) prepared_.erase(prepared);
      if (!pipeline_failed_) {
        pipeline_failed_ = true;
        pipeline_error_ = answer.error();
      }
      if (broken()) return *pipeline_error_;
      if (next == ticket) return *pipeline_error_;
      continue;
    }
    if (next == ticket) return std::move(*answer);
    if (next != kUnread) ready_.emplace_back(next, std::move(*answer));
  }
  if (pipeline_failed_) return *pipeline_error_;
  return Rows(nullptr);
}

Result<Rows> Connection::ReadAnswer() {
  PGresult* r = PQgetResult(conn_);
  if (r == nullptr) return Failure(nullptr, "query");  // the connection broke
  auto status = PQresultStatus(r);
  Result<Rows> out = Rows(nullptr);
  if (status == PGRES_PIPELINE_ABORTED || (pipeline_failed_ && status == PGRES_FATAL_ERROR)) {
    // Skipped, or refused as part of a transaction that already failed.
    PQclear(r);
    out = Unavailable("storage " + label_ + ": the transaction failed");
  } else if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    out = Failure(r, "query");
  } else {
    out = Rows(r);
  }
  // Each answer ends with a null result.
  while (PGresult* rest = PQgetResult(conn_)) PQclear(rest);
  return out;
}

bool Connection::SendSync() {
  if (!PQpipelineSync(conn_)) return false;
  pending_.push_back(Pending{kSync});
  sync_due_ = false;
  unsynced_bytes_ = 0;
  return true;
}

Status Connection::ReadSent() {
  NATTER_RETURN_IF_ERROR(SendKeptBack());
  if (!pipelined_) return OkStatus();
  NATTER_TRY(auto none, Take(kAll));
  return OkStatus();
}

void Connection::DrainPending() {
  if (broken()) return;
  if (!pending_.empty() && pending_.back().ticket != kSync && !SendSync()) return;
  (void)Take(kAll);  // reads them all, failed or not
}

void Connection::LeavePipeline() {
  // A connection still in pipeline mode would refuse every later statement.
  if (!broken() && !PQexitPipelineMode(conn_)) {
    PQfinish(conn_);
    conn_ = nullptr;
  }
  pending_.clear();
  ready_.clear();
  pipelined_ = false;
  sync_due_ = false;
  unsynced_bytes_ = 0;
  // pipeline_failed() stays true until the next Begin()
}

Status Connection::Exec(const std::string& sql) {
  NATTER_RETURN_IF_ERROR(SendKeptBack());
  if (pipelined_) {
    // Sent in turn (a savepoint); a failure shows at the next read.
    if (pipeline_failed_) return *pipeline_error_;
    if (!PQsendQueryParams(conn_, sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0)) {
      return Failure(nullptr, "statement");
    }
    pending_.push_back(Pending{});
    ++writes_sent_;
    sync_due_ = true;
    unsynced_bytes_ += sql.size() + 64;
    return OkStatus();
  }
  last_sqlstate_.clear();
  NATTER_RETURN_IF_ERROR(EnsureConnected());
  PGresult* r = PQexec(conn_, sql.c_str());
  auto status = PQresultStatus(r);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) return Failure(r, "statement");
  PQclear(r);
  return OkStatus();
}

Status Connection::OperationStarts() {
  if (!pipelined_) return OkStatus();
  if (pipeline_failed_) return *pipeline_error_;
  // libpq sends what it holds unasked once that passes 64 KiB, and the
  // server's idle-in-transaction timeout runs only after a sync: with one
  // here once half of that is waiting, what the server has of the operations
  // before always ends in a sync, and a writer stalled between operations
  // cannot hold its locks for ever.
  constexpr size_t kSyncAfterBytes = 32 * 1024;
  if (unsynced_bytes_ >= kSyncAfterBytes && !SendSync()) return Failure(nullptr, "statement");
  return OkStatus();
}

Status Connection::Begin(const std::string& sql, bool pipelined) {
  pipeline_failed_ = false;
  ready_.clear();
  if (!pipelined) {
    Status st = Exec(sql);
    in_transaction_ = st.ok();
    return st;
  }
  last_sqlstate_.clear();
  NATTER_RETURN_IF_ERROR(EnsureConnected());
  if (!PQenterPipelineMode(conn_)) return Failure(nullptr, "begin");
  pipelined_ = true;
  pipeline_error_.reset();
  if (!PQsendQueryParams(conn_, sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0)) {
    Error e = Failure(nullptr, "begin");
    LeavePipeline();
    return e;
  }
  // Nothing is on the wire yet: a connection that died while idle shows at
  // the first read, which the caller makes before running anything.
  in_transaction_ = true;
  pending_.push_back(Pending{});
  sync_due_ = true;
  return OkStatus();
}

Status Connection::Commit() {
  if (Status kept = SendKeptBack(); !kept.ok()) {
    Rollback();
    return kept;
  }
  if (!TransactionUsable()) {
    Rollback();
    return Unavailable("storage " + label_ + ": the transaction failed");
  }
  if (pipelined_) return CommitPipeline();
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

Status Connection::CommitPipeline() {
  // COMMIT and a sync: the answers still unread and COMMIT's come in one
  // round trip.
  int commit = next_ticket_++;
  if (!PQsendQueryParams(conn_, "COMMIT", 0, nullptr, nullptr, nullptr, nullptr, 0)) {
    Error e = Failure(nullptr, "commit");
    Rollback();
    return e;
  }
  pending_.push_back(Pending{commit});
  auto answer = SendSync() ? Take(commit) : Result<Rows>(Failure(nullptr, "commit"));
  bool committed = answer.ok() && std::string_view(PQcmdStatus(answer->get())) == "COMMIT";
  std::optional<Error> failure = pipeline_error_;
  DrainPending();
  LeavePipeline();
  if (committed) {
    in_transaction_ = false;
    return OkStatus();
  }
  Rollback();  // an aborted transaction stays open until told
  if (failure) return *failure;
  if (!answer.ok()) return answer.error();
  return Unavailable("storage " + label_ + ": the transaction was rolled back");
}

void Connection::Rollback() {
  kept_back_ = false;
  if (drop_kept_back_) drop_kept_back_();
  if (pipelined_) {
    // What was sent is answered up to a sync; then the transaction ends.
    DrainPending();
    LeavePipeline();
  }
  if (conn_ && !broken()) PQclear(PQexec(conn_, "ROLLBACK"));
  in_transaction_ = false;
}

}  // namespace natter::pg
