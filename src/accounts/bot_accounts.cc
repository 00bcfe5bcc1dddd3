// AccountService's bots (docs/admin.md, "Bots"): accounts an admin makes for
// a program, which sign in with a long-lived token instead of a password.
// Only the token's hash is kept (as for refresh tokens). Each exchange is a
// sign-in (audited as auth.bot) into the session the token holds, opened
// afresh when an operator ended it; rotating the token ends that session and
// the old token with it.
#include <algorithm>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cctype>

#include "accounts/account_service.h"
#include "auth/refresh_token.h"
#include "chat/text_rules.h"

namespace natter::accounts {
namespace {

namespace json = boost::json;

constexpr std::string_view kBotTokenPrefix = "nb_";

std::string NewBotToken() { return std::string(kBotTokenPrefix) + auth::NewRefreshToken(); }

Error BadBotToken() { return Unauthorized("invalid bot token"); }

}  // namespace

void AccountService::CreateBot(Executor& ex, std::string handle, std::string display_name,
                               std::function<void(Result<BotMade>)> done) {
  if (auto st = chat::CheckHandle(handle); !st.ok()) return done(st.take_error());
  if (auto st = chat::CheckDisplayName(display_name); !st.ok()) return done(st.take_error());
  std::string lower = handle;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (std::find(options_.operator_handles.begin(), options_.operator_handles.end(), lower) !=
      options_.operator_handles.end()) {
    return done(Conflict("handle is reserved for the server's operators"));
  }
  int64_t now = clock_.NowMs();
  User bot{ids_.Next(), std::move(handle), "", now};
  bot.display_name = std::move(display_name);
  bot.bot = true;
  std::string token = NewBotToken();
  BotToken record{auth::HashRefreshToken(token), bot.id, ids_.Next(), now};
  store_.WriteAccountsResult<User>(
      ex,
      [this, bot, record](AccountsTxn& txn) -> Result<User> {
        NATTER_RETURN_IF_ERROR(txn.InsertUser(bot));
        if (!bot.display_name.empty()) {
          NATTER_TRY(bool named, txn.SetProfile(bot.id, bot.display_name, "", 0, 0));
          (void)named;  // a new account: nothing came first
        }
        // Whoever adds a bot to a group adds it at once: it never answers invitations.
        NATTER_RETURN_IF_ERROR(txn.SetGroupAdds(bot.id, GroupAdds::kEveryone));
        NATTER_RETURN_IF_ERROR(txn.InsertSession(Session{record.session_id, bot.id, "bot", false, record.created_at}));
        NATTER_RETURN_IF_ERROR(txn.PutBotToken(record));
        NATTER_RETURN_IF_ERROR(QueueRegistered(txn, bot));
        return bot;
      },
      [token, done = std::move(done)](Result<User> made) {
        if (!made.ok()) return done(made.take_error());
        done(BotMade{std::move(*made), token});
      });
}

void AccountService::RotateBotToken(Executor& ex, UserId bot, std::function<void(Result<std::string>)> done) {
  std::string token = NewBotToken();
  BotToken record{auth::HashRefreshToken(token), bot, ids_.Next(), clock_.NowMs()};
  store_.WriteAccountsResult<std::vector<SessionId>>(
      ex,
      [record](AccountsTxn& txn) -> Result<std::vector<SessionId>> {
        NATTER_TRY(auto found, txn.FindUser(record.user_id));
        if (!found) return NotFound("no such user");
        if (found->erased_at != 0) return Conflict("this account was erased");
        if (!found->bot) return Conflict("not a bot: people sign in with their password");
        // The old token first: a sign-in with it under way holds its row, and
        // the sessions are read (and ended) once that sign-in has committed.
        NATTER_RETURN_IF_ERROR(txn.PutBotToken(record));
        NATTER_TRY(auto ended, txn.RevokeUserSessions(record.user_id));
        NATTER_RETURN_IF_ERROR(
            txn.InsertSession(Session{record.session_id, record.user_id, "bot", false, record.created_at}));
        return ended;
      },
      [this, bot, token, done = std::move(done)](Result<std::vector<SessionId>> ended) {
        if (!ended.ok()) return done(ended.take_error());
        SessionsEnded(bot, *ended);  // its sockets close, on every node
        done(token);
      });
}

void AccountService::BotLogin(Executor& ex, const std::string& token, const std::string& address,
                              std::function<void(Result<LoginResult>)> done) {
  if (!token.starts_with(kBotTokenPrefix) || token.size() > 128) return done(BadBotToken());
  std::string hash = auth::HashRefreshToken(token);
  // A read first: a token nobody holds costs no write (nor an audit line).
  store_.ReadAccountsResult<bool>(
      ex,
      [hash](AccountsTxn& txn) -> Result<bool> {
        NATTER_TRY(auto record, txn.FindBotToken(hash));
        return record.has_value();
      },
      [this, &ex, hash, address, done = std::move(done)](Result<bool> known) mutable {
        if (!known.ok()) return done(known.take_error());
        if (!*known) return done(BadBotToken());
        SignInBot(ex, hash, address, std::move(done));
      });
}

void AccountService::SignInBot(Executor& ex, const std::string& hash, const std::string& address,
                               std::function<void(Result<LoginResult>)> done) {
  int64_t now = clock_.NowMs();
  SessionId fresh_session = ids_.Next();
  struct SignedIn {
    UserId user = 0;
    SessionId session = 0;
  };
  store_.WriteAccountsResult<SignedIn>(
      ex,
      [hash, now, fresh_session, address](AccountsTxn& txn) -> Result<SignedIn> {
        NATTER_TRY(auto record, txn.FindBotToken(hash));
        if (!record) return BadBotToken();
        NATTER_TRY(auto bot, txn.FindUser(record->user_id));
        if (!bot || bot->erased_at != 0) return BadBotToken();
        if (bot->suspended_at != 0) return Forbidden("this account is suspended");
        NATTER_TRY(auto session, txn.FindSession(record->session_id));
        if (!session || session->revoked) {
          // An operator ended its sessions (revoke, suspend): the token still
          // holds, in a session of its own again, unless a rotation or an
          // erasure took it meanwhile.
          NATTER_TRY(bool moved, txn.MoveBotSession(hash, fresh_session));
          if (!moved) return BadBotToken();
          record->session_id = fresh_session;
          NATTER_RETURN_IF_ERROR(txn.InsertSession(Session{fresh_session, bot->id, "bot", false, now}));
        }
        json::object detail{{"handle", bot->handle}, {"session_id", record->session_id}};
        NATTER_RETURN_IF_ERROR(
            txn.InsertAudit(AuditEntry{0, now, bot->id, "auth.bot", bot->id, json::serialize(detail), address, "ok"}));
        return SignedIn{bot->id, record->session_id};
      },
      [this, done = std::move(done)](Result<SignedIn> in) {
        if (!in.ok()) return done(in.take_error());
        done(Issue(in->user, in->session, ""));
      });
}

}  // namespace natter::accounts
