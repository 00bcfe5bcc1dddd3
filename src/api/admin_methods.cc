// admin.*: what operators do to the server as a whole (docs/admin.md). Each
// call is checked against the caller's server role and written to the audit
// log before it is answered (CallAsOperator).
#include <spdlog/spdlog.h>

#include "api/answers.h"
#include "api/dispatcher.h"
#include "api/json_views.h"
#include "api/method_table.h"

namespace natter::api {

namespace json = boost::json;

namespace {

ServerRole Needs(const Method& method) {
  return method.access == Access::kAdmin ? ServerRole::kAdmin : ServerRole::kModerator;
}

json::object OperatorView(const User& u, ServerRole role) {
  json::object o = ToJson(u);
  o["created_at"] = u.created_at;
  o["last_seen"] = u.last_seen;
  o["server_role"] = ServerRoleName(role);
  o["suspended"] = u.suspended_at != 0;
  if (u.suspended_at != 0) o["suspended_at"] = u.suspended_at;
  return o;
}

}  // namespace

void Dispatcher::CallAsOperator(const Method& method, const Caller& caller, const json::object& params, Reply reply) {
  // The line the call leaves, written when it is answered.
  auto line = std::make_shared<AuditEntry>();
  line->at_ms = d_.clock.NowMs();
  line->actor = caller.user;
  line->action = std::string(method.name);
  line->target_user = AuditTarget(method, params);
  line->detail = AuditDetail(params);
  line->address = caller.address;
  // The answer waits for its audit line: an operator's call is never answered
  // without being on record.
  Executor* ex = caller.executor;
  Reply audited = [this, line, ex, reply = std::move(reply)](Result<json::value> r) mutable {
    line->outcome = r.ok() ? "ok" : std::string(ErrorCodeName(r.error().code));
    d_.store.WriteAccounts(
        *ex, [entry = *line](AccountsTxn& txn) { return txn.InsertAudit(entry); },
        [reply = std::move(reply), r = std::move(r), action = line->action](const Status& st) mutable {
          if (!st.ok()) {
            spdlog::error("audit: could not record {}: {}", action, st.error().message);
            return reply(Unavailable("the call could not be recorded in the audit log: " + st.error().message));
          }
          reply(std::move(r));
        });
  };
  d_.store.ReadAccountsResult<std::optional<User>>(
      *ex, [user = caller.user](AccountsTxn& txn) { return txn.FindUser(user); },
      [this, &method, caller, params, line, audited = std::move(audited)](Result<std::optional<User>> found) mutable {
        if (!found.ok()) return audited(found.take_error());
        Caller as = caller;
        as.role = *found && (*found)->suspended_at == 0 ? d_.operators.Of(**found) : ServerRole::kNone;
        if (as.role < Needs(method)) {
          // Of a caller without the role, only that they tried is kept: what
          // they sent is not worth the space, nor whom it named.
          line->target_user = 0;
          line->detail = "{}";
          return audited(Forbidden("'" + std::string(method.name) + "' needs the server role " +
                                   std::string(ServerRoleName(Needs(method)))));
        }
        if (!RunCatching(method.name, [&] { method.invoke(*this, as, params, audited); })) {
          audited(Internal("internal error"));
        }
      });
}

void Dispatcher::AdminListUsers(const Caller& c, AdminUsersParams p, Reply reply) {
  d_.store.ReadAccountsResult<std::vector<User>>(
      ExecutorOf(c), [p](AccountsTxn& txn) { return txn.SearchUsers(p.query, p.after, p.limit); },
      [this, reply = std::move(reply), limit = p.limit](Result<std::vector<User>> r) {
        if (!r.ok()) return reply(r.take_error());
        std::vector<User> found = std::move(r).value();
        json::array users;
        for (const auto& u : found) users.push_back(OperatorView(u, d_.operators.Of(u)));
        json::object answer{{"users", std::move(users)}};
        if (found.size() == static_cast<size_t>(limit)) answer["next"] = found.back().id;
        reply(json::value(std::move(answer)));
      });
}

void Dispatcher::AdminGetUser(const Caller& c, UserIdParams p, Reply reply) {
  using Found = std::pair<User, std::vector<Session>>;
  d_.store.ReadAccountsResult<Found>(
      ExecutorOf(c),
      [p](AccountsTxn& txn) -> Result<Found> {
        NATTER_TRY(auto user, txn.FindUser(p.user_id));
        if (!user) return NotFound("no such user");
        NATTER_TRY(auto sessions, txn.ListSessions(p.user_id));
        return Found{std::move(*user), std::move(sessions)};
      },
      [this, reply = std::move(reply)](Result<Found> r) {
        if (!r.ok()) return reply(r.take_error());
        json::object answer = OperatorView(r->first, d_.operators.Of(r->first));
        json::array sessions;
        for (const auto& s : r->second) {
          sessions.push_back(json::object{
              {"session_id", s.id}, {"device", s.device}, {"created_at", s.created_at}, {"revoked", s.revoked}});
        }
        answer["sessions"] = std::move(sessions);
        reply(json::value(std::move(answer)));
      });
}

void Dispatcher::AdminSuspend(const Caller& c, SuspendParams p, Reply reply) {
  if (p.user_id == c.user) return reply(BadRequest("you cannot suspend yourself"));
  int64_t now = d_.clock.NowMs();
  d_.store.WriteAccountsResult<std::vector<SessionId>>(
      ExecutorOf(c),
      [p, now](AccountsTxn& txn) -> Result<std::vector<SessionId>> {
        NATTER_TRY(auto user, txn.FindUser(p.user_id));
        if (!user) return NotFound("no such user");
        if (user->erased_at != 0) return Conflict("this account was erased");
        NATTER_RETURN_IF_ERROR(txn.SetSuspended(p.user_id, p.suspended ? now : 0));
        if (!p.suspended) return std::vector<SessionId>{};
        return txn.RevokeUserSessions(p.user_id);
      },
      [this, reply = std::move(reply), p](Result<std::vector<SessionId>> ended) {
        if (!ended.ok()) return reply(ended.take_error());
        // Their sockets close on every node, their tokens stop working.
        d_.accounts.SessionsEnded(p.user_id, *ended);
        reply(json::value(json::object{{"user_id", p.user_id},
                                       {"suspended", p.suspended},
                                       {"sessions_ended", static_cast<int64_t>(ended->size())}}));
      });
}

void Dispatcher::AdminRevokeSessions(const Caller& c, UserIdParams p, Reply reply) {
  d_.store.WriteAccountsResult<std::vector<SessionId>>(
      ExecutorOf(c),
      [p](AccountsTxn& txn) -> Result<std::vector<SessionId>> {
        NATTER_TRY(auto user, txn.FindUser(p.user_id));
        if (!user) return NotFound("no such user");
        return txn.RevokeUserSessions(p.user_id);
      },
      [this, reply = std::move(reply), p](Result<std::vector<SessionId>> ended) {
        if (!ended.ok()) return reply(ended.take_error());
        d_.accounts.SessionsEnded(p.user_id, *ended);
        reply(
            json::value(json::object{{"user_id", p.user_id}, {"sessions_ended", static_cast<int64_t>(ended->size())}}));
      });
}

void Dispatcher::AdminResetPassword(const Caller& c, PasswordResetParams p, Reply reply) {
  d_.accounts.ResetPassword(
      ExecutorOf(c), p.user_id, std::move(p.password), c.address,
      [reply = std::move(reply), user = p.user_id](Result<std::vector<SessionId>> ended) {
        if (!ended.ok()) return reply(ended.take_error());
        reply(json::value(json::object{
            {"user_id", user}, {"password_reset", true}, {"sessions_ended", static_cast<int64_t>(ended->size())}}));
      });
}

void Dispatcher::AdminSetRole(const Caller& c, ServerRoleParams p, Reply reply) {
  d_.store.WriteAccountsResult<User>(
      ExecutorOf(c),
      [p](AccountsTxn& txn) -> Result<User> {
        NATTER_TRY(auto user, txn.FindUser(p.user_id));
        if (!user) return NotFound("no such user");
        if (user->erased_at != 0) return Conflict("this account was erased");
        NATTER_RETURN_IF_ERROR(txn.SetServerRole(p.user_id, p.role));
        user->server_role = p.role;
        return std::move(*user);
      },
      [this, reply = std::move(reply)](Result<User> user) {
        if (!user.ok()) return reply(user.take_error());
        // The role that counts: the configuration may give a higher one.
        reply(
            json::value(json::object{{"user_id", user->id}, {"server_role", ServerRoleName(d_.operators.Of(*user))}}));
      });
}

void Dispatcher::AdminDeleteMessage(const Caller& c, MessageParams p, Reply reply) {
  // messages.delete with a moderator's power (ContextOf: any message, member or not).
  Delete(c, p, std::move(reply));
}

void Dispatcher::AdminAudit(const Caller& c, AuditParams p, Reply reply) {
  d_.store.ReadAccountsResult<std::vector<AuditEntry>>(
      ExecutorOf(c), [q = p.query](AccountsTxn& txn) { return txn.ListAudit(q); },
      [reply = std::move(reply), limit = p.query.limit](Result<std::vector<AuditEntry>> r) {
        if (!r.ok()) return reply(r.take_error());
        std::vector<AuditEntry> found = std::move(r).value();
        json::array entries;
        for (const auto& e : found) entries.push_back(ToJson(e));
        json::object answer{{"entries", std::move(entries)}};
        if (found.size() == static_cast<size_t>(limit)) answer["next"] = found.back().id;
        reply(json::value(std::move(answer)));
      });
}

}  // namespace natter::api
