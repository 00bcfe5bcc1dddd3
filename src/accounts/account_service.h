// Registration, login, token refresh and logout. Password hashing runs on the
// hashing pool and storage on the store's threads: no call here blocks its
// caller. Callbacks run on a pool or store thread; callers post back.
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <unordered_map>

#include "accounts/login_throttle.h"
#include "auth/access_token.h"
#include "auth/external_token.h"
#include "auth/password_hasher.h"
#include "common/fair_pool.h"
#include "common/id_generator.h"
#include "common/mutex.h"
#include "common/thread_pool.h"
#include "natter/clock.h"
#include "store/store.h"

namespace natter::accounts {

struct LoginResult {
  UserId user_id = 0;
  SessionId session_id = 0;
  std::string access_token;
  int64_t access_expires_at = 0;  // seconds since epoch
  std::string refresh_token;
};

// Who may make an account (docs/admin.md): anyone, holders of an invite code,
// or only the server's operators.
enum class Registration { kOpen, kInvite, kClosed };
// How many characters of an invite code are shown and audited: enough to tell
// codes apart, too few to use one.
constexpr size_t kInviteHintChars = 4;
std::optional<Registration> ParseRegistration(std::string_view name);

struct AccountOptions {
  auth::PasswordParams password_params = auth::PasswordParams::Interactive();
  Registration registration = Registration::kOpen;
  // Handles the configuration names as admins (lower case): they may register
  // from this host whatever the mode, which is how a closed server gets its
  // first admin.
  std::vector<std::string> admin_handles = {};
  // Handles the configuration names as admins or moderators (lower case):
  // never given to a new account by an external token.
  std::vector<std::string> operator_handles = {};
  // Whether a new account queues a user.registered webhook (docs/webhooks.md).
  bool webhook_registrations = false;
  int max_login_failures = 10;
  int64_t login_window_ms = int64_t{15} * 60 * 1000;
};

class AccountService {
 public:
  AccountService(Store& store, ThreadPool& hash_pool, const auth::AccessTokenCodec& tokens, IdGenerator& ids,
                 const Clock& clock, AccountOptions options);

  // `address`: the client's, for its fair share of password hashing.
  // `invite_code`: needed (and used up) while registration is by invitation.
  // `by_operator`: the operator who makes the account (admin.users.create),
  // whatever the registration mode; 0 for a user registering themselves.
  void Register(Executor& ex, std::string handle, std::string password, std::string invite_code,
                const std::string& address, std::function<void(Result<User>)> done, UserId by_operator = 0);
  void Login(Executor& ex, const std::string& handle, std::string password, std::string device,
             const std::string& address, std::function<void(Result<LoginResult>)> done);
  // Signs in a user of the operator's own backend (claims already verified,
  // auth/external_token.h): the account linked to their issuer and subject,
  // made at the first sign-in with the handle the token names, whatever the
  // registration mode.
  void ExternalLogin(Executor& ex, auth::ExternalClaims claims, std::string device, const std::string& address,
                     std::function<void(Result<LoginResult>)> done);
  // Rotates the refresh token. Presenting a token that was already used means
  // it leaked: the whole session is revoked.
  void Refresh(Executor& ex, const std::string& refresh_token, std::function<void(Result<LoginResult>)> done);
  void Logout(Executor& ex, SessionId session, std::function<void(Status)> done);

  // Checks an access token; cheap (HMAC and a lookup), safe on an I/O thread.
  // Tokens of a session that ended on this node (logout, refresh reuse) are
  // refused at once, not only when they expire.
  Result<auth::AccessClaims> Authenticate(std::string_view access_token) const;

  // Authenticate, and the token's session must exist, belong to the token's
  // user and not be revoked: a correctly signed token for a user or session
  // that does not exist is refused here, and so is a logged-out session's
  // after a restart. The answer is remembered for a short while (revocations
  // on any node end it at once). `done` runs inline when nothing needs
  // reading, else on `ex`.
  void AuthenticateSession(Executor& ex, std::string_view access_token,
                           std::function<void(Result<auth::AccessClaims>)> done);

  // Refuses the session's access tokens from now on (it ended, here or on
  // another node of a cluster).
  void ForgetSession(SessionId session);

  // Called when a session ends here for a reason no request reports (a
  // refresh token reused), so every node and socket can learn of it. Set once
  // at start-up.
  void OnSessionEnded(std::function<void(UserId, SessionId)> hook) { session_ended_ = std::move(hook); }

  // Sessions an operator ended (a suspension, a password reset): refused
  // here at once, and on every other node and socket through the hook.
  void SessionsEnded(UserId user, const std::vector<SessionId>& sessions);

  // Bots (bot_accounts.cc, docs/admin.md): an admin makes one, with a
  // handle and a display name, and gets its long-lived token, shown once;
  // anyone may add it to a conversation. Rotating the token ends the old one
  // and every session of the bot. A bot exchanges its token for an access
  // token (no refresh token: the bot token is how it comes back).
  struct BotMade {
    User user;
    std::string token;
  };
  void CreateBot(Executor& ex, std::string handle, std::string display_name, std::function<void(Result<BotMade>)> done);
  void RotateBotToken(Executor& ex, UserId bot, std::function<void(Result<std::string>)> done);
  void BotLogin(Executor& ex, const std::string& token, const std::string& address,
                std::function<void(Result<LoginResult>)> done);

  // An operator sets `user`'s password: hashed as at registration, and every
  // session of theirs ends. `done` gets the sessions it ended.
  void ResetPassword(Executor& ex, UserId user, std::string password, const std::string& address,
                     std::function<void(Result<std::vector<SessionId>>)> done);

  // Password checks waiting for a hashing thread, per client address.
  const FairPool& hashing() const { return hashing_; }

  // A reload's max-login-failures (docs/operations.md, "Reloading").
  void SetMaxLoginFailures(int max_failures) { throttle_.SetMaxFailures(max_failures); }

 private:
  // Opens a session and writes the sign-in to the audit log, together.
  void StartSession(Executor& ex, const User& user, std::string device, const std::string& address,
                    std::function<void(Result<LoginResult>)> done);
  // Writes a sign-in that did not open a session to the audit log, then
  // answers `done` with `refusal`.
  void AuditRefusedLogin(Executor& ex, const std::string& handle, UserId user, const std::string& address,
                         Error refusal, const std::function<void(Result<LoginResult>)>& done);
  LoginResult Issue(UserId user, SessionId session, std::string refresh_token) const;
  // auth.bot once the token is known to exist: the sign-in, written.
  void SignInBot(Executor& ex, const std::string& hash, const std::string& address,
                 std::function<void(Result<LoginResult>)> done);
  // The user.registered webhook of a new account, when the configuration selects it.
  Status QueueRegistered(AccountsTxn& txn, const User& user) const;

  Store& store_;
  FairPool hashing_;  // password hashing, shared fairly between client addresses
  const auth::AccessTokenCodec& tokens_;
  IdGenerator& ids_;
  const Clock& clock_;
  const AccountOptions options_;
  LoginThrottle throttle_;
  // Ended sessions whose access tokens may not have expired yet: session -> when
  // the last one does (seconds). Pruned as they pass.
  std::function<void(UserId, SessionId)> session_ended_;
  mutable Mutex revoked_mu_;
  std::unordered_map<SessionId, int64_t> revoked_ GUARDED_BY(revoked_mu_);
  // Sessions found live in the store: session -> {its user, until when (ms)
  // this node trusts that without asking again}.
  struct KnownSession {
    UserId user = 0;
    int64_t until_ms = 0;
  };
  std::unordered_map<SessionId, KnownSession> known_ GUARDED_BY(revoked_mu_);
  std::string dummy_hash_;  // verified against for unknown handles, so timing reveals nothing
};

}  // namespace natter::accounts
