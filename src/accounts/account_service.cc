#include "accounts/account_service.h"

#include <algorithm>
#include <atomic>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cctype>

#include "auth/refresh_token.h"
#include "chat/text_rules.h"
#include "common/network_key.h"
#include "ops/log_event.h"
#include "store/webhook_events.h"

namespace natter::accounts {

namespace json = boost::json;
namespace {
Error Busy() { return Unavailable("server is busy, retry shortly"); }
// How long a session found live is trusted without reading it again, and how
// many are remembered. A revocation anywhere ends it at once (ForgetSession,
// also on the other nodes); the bound only covers a revocation this node
// could not hear of (its broker link was down).
constexpr int64_t kKnownSessionMs = 60'000;
constexpr size_t kMaxKnownSessions = 100'000;
Error BadCredentials() { return Unauthorized("wrong handle or password"); }
// Password hashing refused: one address has its share waiting, or all do.
Error Refused(FairPool::Submitted why) {
  if (why == FairPool::Submitted::kKeyFull) {
    return RateLimited("too many logins and registrations in progress from this address; wait for them");
  }
  return Busy();
}
// A reserved login attempt. One that ends without a verdict (storage failed,
// no room to hash, a task dropped at shutdown or by a throw) gives its place
// back when the last copy goes.
class ReservedAttempt {
 public:
  ReservedAttempt(LoginThrottle& throttle, const Clock& clock, std::string account, std::string address,
                  LoginThrottle::Reservation held)
      : throttle_(throttle), clock_(clock), account_(std::move(account)), address_(std::move(address)), held_(held) {}
  ~ReservedAttempt() { End(LoginThrottle::Outcome::kUndecided); }
  ReservedAttempt(const ReservedAttempt&) = delete;
  ReservedAttempt& operator=(const ReservedAttempt&) = delete;

  void End(LoginThrottle::Outcome outcome) {
    if (ended_.exchange(true)) return;
    throttle_.Finish(account_, address_, held_, outcome, clock_.NowMs());
  }

 private:
  LoginThrottle& throttle_;
  const Clock& clock_;
  const std::string account_;
  const std::string address_;
  const LoginThrottle::Reservation held_;
  std::atomic<bool> ended_{false};
};

// Hashes waiting per client address; beyond, that address is told to wait.
constexpr size_t kHashesQueuedPerAddress = 8;
}  // namespace

AccountService::AccountService(Store& store, ThreadPool& hash_pool, const auth::AccessTokenCodec& tokens,
                               IdGenerator& ids, const Clock& clock, AccountOptions options)
    : store_(store),
      hashing_(hash_pool, kHashesQueuedPerAddress),
      tokens_(tokens),
      ids_(ids),
      clock_(clock),
      options_(options),
      throttle_(options.max_login_failures, options.login_window_ms) {
  auto dummy = auth::HashPassword("natter-dummy-password", options_.password_params);
  if (dummy.ok()) dummy_hash_ = *dummy;
}

std::optional<Registration> ParseRegistration(std::string_view name) {
  if (name == "open") return Registration::kOpen;
  if (name == "invite") return Registration::kInvite;
  if (name == "closed") return Registration::kClosed;
  return std::nullopt;
}

void AccountService::Register(Executor& ex, std::string handle, std::string password, std::string invite_code,
                              const std::string& address, std::function<void(Result<User>)> done, UserId by_operator) {
  std::string lower = handle;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  bool named_admin =
      std::find(options_.admin_handles.begin(), options_.admin_handles.end(), lower) != options_.admin_handles.end();
  // A named admin registers past the mode only from this host: anyone else
  // could otherwise claim a handle the operator has not registered yet.
  bool free =
      by_operator != 0 || (named_admin && IsLoopbackAddress(address)) || options_.registration == Registration::kOpen;
  bool by_invitation = !free && options_.registration == Registration::kInvite;
  if (!free && options_.registration == Registration::kClosed) {
    return done(Forbidden("registration is closed: accounts are made by the server's operators"));
  }
  if (by_invitation && invite_code.empty()) {
    return done(Forbidden("registration is by invitation: give an invite_code"));
  }
  if (invite_code.size() > 128) return done(Forbidden("this invite code is not valid"));
  if (auto st = chat::CheckHandle(handle); !st.ok()) return done(st.take_error());
  if (auto st = auth::CheckPasswordPolicy(password); !st.ok()) return done(st.take_error());
  auto queued = hashing_.Submit(
      NetworkKey(address), [this, &ex, handle = std::move(handle), password = std::move(password), address, done,
                            by_invitation, code = std::move(invite_code), by_operator]() mutable {
        auto hash = auth::HashPassword(password, options_.password_params);
        if (!hash.ok()) return done(hash.take_error());
        User user{ids_.Next(), std::move(handle), std::move(*hash), clock_.NowMs()};
        json::object detail;
        if (by_invitation) detail["invite_code"] = code.substr(0, kInviteHintChars);
        AuditEntry audit{0,
                         user.created_at,
                         by_operator != 0 ? by_operator : user.id,
                         "auth.register",
                         user.id,
                         json::serialize(detail),
                         address,
                         "ok"};
        // The code is used in the same transaction that makes the account: a
        // refused registration uses none of it.
        std::string code_hash = by_invitation ? auth::HashRefreshToken(code) : std::string();
        store_.WriteAccountsResult<User>(
            ex,
            [this, user, audit, code_hash](AccountsTxn& txn) -> Result<User> {
              if (!code_hash.empty()) {
                NATTER_TRY(bool used, txn.UseInviteCode(code_hash, user.created_at));
                if (!used) return Forbidden("this invite code is not valid (unknown, used up or expired)");
              }
              NATTER_RETURN_IF_ERROR(txn.InsertUser(user));
              NATTER_RETURN_IF_ERROR(txn.InsertAudit(audit));
              NATTER_RETURN_IF_ERROR(QueueRegistered(txn, user));
              return user;
            },
            std::move(done));
      });
  if (queued != FairPool::Submitted::kQueued) done(Refused(queued));
}

void AccountService::Login(Executor& ex, const std::string& handle, std::string password, std::string device,
                           const std::string& address, std::function<void(Result<LoginResult>)> done) {
  if (handle.empty() || password.empty()) return done(BadRequest("handle and password are required"));
  if (device.size() > 128) return done(BadRequest("device name is too long"));
  // No handle is this long: refused before it costs a hash or an audit line.
  if (handle.size() > 64) return done(BadCredentials());
  int64_t now = clock_.NowMs();
  // Handles match case-insensitively, so the throttle must too.
  std::string account_key = "h:";
  for (char c : handle) account_key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string address_key = "a:" + NetworkKey(address);
  // The attempt is counted from here, before its password is checked, so a
  // burst of guesses at once is refused like the same guesses one by one.
  LoginThrottle::Reservation held;
  if (!throttle_.Reserve(account_key, address_key, now, held)) {
    return done(RateLimited("too many failed logins; wait and try again"));
  }
  auto attempt = std::make_shared<ReservedAttempt>(throttle_, clock_, account_key, address_key, held);
  store_.ReadAccountsResult<std::optional<User>>(
      ex, [handle](AccountsTxn& txn) { return txn.FindUserByHandle(handle); },
      [=, this, &ex, password = std::move(password),
       device = std::move(device)](Result<std::optional<User>> found) mutable {
        if (!found.ok()) {
          return done(found.take_error());  // the attempt gives its place back
        }
        // Hashing is shared fairly between addresses: a flood from one
        // waits behind itself, not in front of everyone else's logins.
        auto queued = hashing_.Submit(NetworkKey(address), [=, this, &ex, user = std::move(*found)]() mutable {
          // An account without a password (external tokens) costs a guess the
          // same time as any other, and never matches.
          bool has_password = user && !user->password_hash.empty();
          bool good = auth::VerifyPassword(has_password ? user->password_hash : dummy_hash_, password) && has_password;
          attempt->End(good ? LoginThrottle::Outcome::kSucceeded : LoginThrottle::Outcome::kFailed);
          if (!good) return AuditRefusedLogin(ex, handle, user ? user->id : 0, address, BadCredentials(), done);
          if (user->suspended_at != 0) {
            return AuditRefusedLogin(ex, handle, user->id, address, Forbidden("this account is suspended"), done);
          }
          StartSession(ex, *user, std::move(device), address, std::move(done));
        });
        if (queued != FairPool::Submitted::kQueued) done(Refused(queued));
      });
}

void AccountService::ExternalLogin(Executor& ex, auth::ExternalClaims claims, std::string device,
                                   const std::string& address, std::function<void(Result<LoginResult>)> done) {
  if (device.size() > 128) return done(BadRequest("device name is too long"));
  // A new account has no password: only its issuer's tokens open it.
  User fresh{ids_.Next(), claims.handle, "", clock_.NowMs()};
  if (chat::CheckDisplayName(claims.name).ok()) fresh.display_name = claims.name;
  json::object detail{{"issuer", claims.issuer}, {"subject", claims.subject}};
  AuditEntry audit{0, fresh.created_at, fresh.id, "auth.register", fresh.id, json::serialize(detail), address, "ok"};
  // A handle the configuration makes an operator is never given by a token:
  // users choose what their backend names them.
  std::string lower = claims.handle;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  bool reserved = std::find(options_.operator_handles.begin(), options_.operator_handles.end(), lower) !=
                  options_.operator_handles.end();
  store_.WriteAccountsResult<User>(
      ex,
      [this, claims, fresh, audit, reserved](AccountsTxn& txn) -> Result<User> {
        NATTER_TRY(auto linked, txn.FindExternalUser(claims.issuer, claims.subject));
        if (linked) {
          NATTER_TRY(auto user, txn.FindUser(*linked));
          if (!user) return NotFound("the account of this external user is gone");
          return std::move(*user);
        }
        if (claims.handle.empty()) return BadRequest("the token names no handle for a new account");
        NATTER_RETURN_IF_ERROR(chat::CheckHandle(claims.handle));
        if (reserved) return Conflict("handle is reserved for the server's operators");
        NATTER_RETURN_IF_ERROR(txn.InsertUser(fresh));
        if (!fresh.display_name.empty()) {
          NATTER_TRY(bool named, txn.SetProfile(fresh.id, fresh.display_name, "", 0, 0));
          (void)named;  // a new account: nothing came first
        }
        NATTER_RETURN_IF_ERROR(txn.LinkExternalUser(claims.issuer, claims.subject, fresh.id, fresh.created_at));
        NATTER_RETURN_IF_ERROR(txn.InsertAudit(audit));
        NATTER_RETURN_IF_ERROR(QueueRegistered(txn, fresh));
        return fresh;
      },
      [this, &ex, device = std::move(device), address, done = std::move(done)](Result<User> user) mutable {
        if (!user.ok()) return done(user.take_error());
        if (user->suspended_at != 0) {
          return AuditRefusedLogin(ex, user->handle, user->id, address, Forbidden("this account is suspended"), done);
        }
        StartSession(ex, *user, std::move(device), address, std::move(done));
      });
}

void AccountService::AuditRefusedLogin(Executor& ex, const std::string& handle, UserId user, const std::string& address,
                                       Error refusal, const std::function<void(Result<LoginResult>)>& done) {
  json::object detail{{"handle", handle}};
  AuditEntry audit{0,    clock_.NowMs(),          0,       "auth.login",
                   user, json::serialize(detail), address, std::string(ErrorCodeName(refusal.code))};
  // Answered once it is on record (or could not be: the refusal stands).
  store_.WriteAccounts(
      ex, [audit](AccountsTxn& txn) { return txn.InsertAudit(audit); },
      [refusal = std::move(refusal), done](const Status&) { done(refusal); });
}

void AccountService::StartSession(Executor& ex, const User& user, std::string device, const std::string& address,
                                  std::function<void(Result<LoginResult>)> done) {
  Session session{ids_.Next(), user.id, device.empty() ? "unnamed" : std::move(device), false, clock_.NowMs()};
  std::string refresh = auth::NewRefreshToken();
  RefreshTokenRecord record{auth::HashRefreshToken(refresh), session.id, false};
  json::object detail{{"handle", user.handle}, {"device", session.device}, {"session_id", session.id}};
  AuditEntry audit{0, session.created_at, user.id, "auth.login", user.id, json::serialize(detail), address, "ok"};
  store_.WriteAccounts(
      ex,
      [session, record, audit, checked = user.password_hash](AccountsTxn& txn) -> Status {
        // An operator may have suspended the account or reset its password
        // while the password was being checked: the session is not opened.
        NATTER_TRY(auto now, txn.FindUser(session.user_id));
        if (!now || now->password_hash != checked) return BadCredentials();
        if (now->suspended_at != 0) return Forbidden("this account is suspended");
        NATTER_RETURN_IF_ERROR(txn.InsertSession(session));
        NATTER_RETURN_IF_ERROR(txn.InsertAudit(audit));
        return txn.InsertRefreshToken(record);
      },
      [this, session, refresh = std::move(refresh), done = std::move(done)](Status st) mutable {
        if (!st.ok()) return done(st.take_error());
        done(Issue(session.user_id, session.id, std::move(refresh)));
      });
}

void AccountService::Refresh(Executor& ex, const std::string& refresh_token,
                             std::function<void(Result<LoginResult>)> done) {
  if (refresh_token.empty() || refresh_token.size() > 256) return done(Unauthorized("invalid refresh token"));
  struct Outcome {
    Session session;
    bool reused = false;
  };
  std::string old_hash = auth::HashRefreshToken(refresh_token);
  std::string fresh = auth::NewRefreshToken();
  std::string fresh_hash = auth::HashRefreshToken(fresh);
  store_.WriteAccountsResult<Outcome>(
      ex,
      [old_hash, fresh_hash](AccountsTxn& txn) -> Result<Outcome> {
        NATTER_TRY(auto record, txn.FindRefreshToken(old_hash));
        if (!record) return Unauthorized("invalid refresh token");
        NATTER_TRY(auto session, txn.FindSession(record->session_id));
        if (!session || session->revoked) return Unauthorized("session has ended; log in again");
        NATTER_TRY(auto user, txn.FindUser(session->user_id));
        if (!user || user->suspended_at != 0) return Unauthorized("session has ended; log in again");
        NATTER_TRY(bool fresh_use, txn.MarkRefreshTokenUsed(old_hash));
        if (!fresh_use) {
          // Reuse of a rotated token (or two nodes rotating it at once):
          // someone else holds a copy. The revocation must commit, so this
          // path returns success.
          NATTER_RETURN_IF_ERROR(txn.RevokeSession(session->id));
          return Outcome{*session, true};
        }
        NATTER_RETURN_IF_ERROR(txn.InsertRefreshToken({fresh_hash, session->id, false}));
        return Outcome{*session, false};
      },
      [this, fresh = std::move(fresh), done = std::move(done)](Result<Outcome> outcome) mutable {
        if (!outcome.ok()) return done(outcome.take_error());
        if (outcome->reused) {
          ops::LogEvent(spdlog::level::warn, "refresh_token_reused",
                        ops::LogFields().Int("user", outcome->session.user_id).Int("session", outcome->session.id));
          ForgetSession(outcome->session.id);
          if (session_ended_) session_ended_(outcome->session.user_id, outcome->session.id);
          return done(Unauthorized("refresh token was already used; session revoked, log in again"));
        }
        done(Issue(outcome->session.user_id, outcome->session.id, std::move(fresh)));
      });
}

void AccountService::Logout(Executor& ex, SessionId session, std::function<void(Status)> done) {
  store_.WriteAccounts(
      ex, [session](AccountsTxn& txn) { return txn.RevokeSession(session); },
      [this, session, done = std::move(done)](Status st) {
        if (st.ok()) ForgetSession(session);
        done(std::move(st));
      });
}

void AccountService::SessionsEnded(UserId user, const std::vector<SessionId>& sessions) {
  for (SessionId session : sessions) {
    ForgetSession(session);
    if (session_ended_) session_ended_(user, session);
  }
}

void AccountService::ResetPassword(Executor& ex, UserId user, std::string password, const std::string& address,
                                   std::function<void(Result<std::vector<SessionId>>)> done) {
  if (auto st = auth::CheckPasswordPolicy(password); !st.ok()) return done(st.take_error());
  auto queued = hashing_.Submit(NetworkKey(address), [this, &ex, user, password = std::move(password), done]() {
    auto hash = auth::HashPassword(password, options_.password_params);
    if (!hash.ok()) return done(hash.take_error());
    store_.WriteAccountsResult<std::vector<SessionId>>(
        ex,
        [user, hash = std::move(*hash)](AccountsTxn& txn) -> Result<std::vector<SessionId>> {
          NATTER_TRY(auto found, txn.FindUser(user));
          if (!found) return NotFound("no such user");
          if (found->erased_at != 0) return Conflict("this account was erased");
          if (found->bot) return Conflict("a bot has no password: rotate its token instead");
          NATTER_RETURN_IF_ERROR(txn.SetPasswordHash(user, hash));
          return txn.RevokeUserSessions(user);
        },
        [this, user, done](Result<std::vector<SessionId>> ended) {
          if (ended.ok()) SessionsEnded(user, *ended);
          done(std::move(ended));
        });
  });
  if (queued != FairPool::Submitted::kQueued) done(Refused(queued));
}

void AccountService::ForgetSession(SessionId session) {
  int64_t now = clock_.NowSeconds();
  MutexLock lock(revoked_mu_);
  for (auto it = revoked_.begin(); it != revoked_.end();) {
    if (it->second < now)
      it = revoked_.erase(it);
    else
      ++it;
  }
  // Every access token of the session has expired by then (with the leeway).
  revoked_[session] = now + tokens_.max_lifetime_seconds();
  known_.erase(session);
}

void AccountService::AuthenticateSession(Executor& ex, std::string_view access_token,
                                         std::function<void(Result<auth::AccessClaims>)> done) {
  auto claims = Authenticate(access_token);
  if (!claims.ok()) return done(std::move(claims));
  int64_t now = clock_.NowMs();
  bool known = false;
  {
    MutexLock lock(revoked_mu_);
    auto it = known_.find(claims->session_id);
    known = it != known_.end() && it->second.user == claims->user_id && it->second.until_ms > now;
  }
  if (known) return done(std::move(claims));
  SessionId id = claims->session_id;
  store_.ReadAccountsResult<std::optional<Session>>(
      ex, [id](AccountsTxn& txn) { return txn.FindSession(id); },
      [this, claims = *claims, done = std::move(done)](Result<std::optional<Session>> found) {
        if (!found.ok()) return done(found.take_error());
        // No such session, or another user's: the token was made with the
        // key but not by a login (or names a user that does not exist).
        if (!found->has_value() || (*found)->user_id != claims.user_id) {
          return done(Unauthorized("unknown session; log in again"));
        }
        if ((*found)->revoked) {
          ForgetSession(claims.session_id);
          return done(Unauthorized("session has ended; log in again"));
        }
        bool ended = false;
        {
          MutexLock lock(revoked_mu_);
          // Ended here while the read ran.
          ended = revoked_.count(claims.session_id) > 0;
          if (!ended) {
            if (known_.size() >= kMaxKnownSessions) known_.clear();  // rare; they are read again
            known_[claims.session_id] = KnownSession{claims.user_id, clock_.NowMs() + kKnownSessionMs};
          }
        }
        if (ended) return done(Unauthorized("session has ended; log in again"));
        done(claims);
      });
}

Result<auth::AccessClaims> AccountService::Authenticate(std::string_view access_token) const {
  auto claims = tokens_.Verify(access_token, clock_.NowSeconds());
  if (!claims.ok()) return claims;
  MutexLock lock(revoked_mu_);
  if (revoked_.count(claims->session_id)) return Unauthorized("session has ended; log in again");
  return claims;
}

Status AccountService::QueueRegistered(AccountsTxn& txn, const User& user) const {
  if (!options_.webhook_registrations) return OkStatus();
  return txn.QueueAccountWebhook(AccountWebhookJob(WebhookEvent::kUserRegistered, user.id, user.created_at));
}

LoginResult AccountService::Issue(UserId user, SessionId session, std::string refresh_token) const {
  int64_t now = clock_.NowSeconds();
  LoginResult r;
  r.user_id = user;
  r.session_id = session;
  r.access_token = tokens_.Issue(user, session, now);
  r.access_expires_at = tokens_.ExpiresAt(now);
  r.refresh_token = std::move(refresh_token);
  return r;
}

}  // namespace natter::accounts
