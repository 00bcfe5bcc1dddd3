// admin.users.create and admin.invites.*: how accounts are made when
// registration is not open to all (docs/admin.md).
#include "api/dispatcher.h"
#include "api/json_views.h"
#include "auth/refresh_token.h"

namespace natter::api {

namespace json = boost::json;

namespace {

json::object InviteJson(const InviteCode& c) {
  return {{"invite_id", c.id},          {"hint", c.hint},
          {"created_by", c.created_by}, {"created_at", c.created_at},
          {"expires_at", c.expires_at}, {"uses_left", c.uses_left}};
}

}  // namespace

void Dispatcher::AdminCreateUser(const Caller& c, CreateUserParams p, Reply reply) {
  d_.accounts.Register(
      ExecutorOf(c), std::move(p.handle), std::move(p.password), "", c.address,
      [reply = std::move(reply)](Result<User> user) {
        if (!user.ok()) return reply(user.take_error());
        reply(json::value(ToJson(*user)));
      },
      c.user);
}

void Dispatcher::AdminCreateInvite(const Caller& c, CreateInviteParams p, Reply reply) {
  // Shown once, here; the store keeps its hash (as for refresh tokens).
  std::string code = auth::NewRefreshToken().substr(0, 22);
  InviteCode invite;
  invite.code_hash = auth::HashRefreshToken(code);
  invite.hint = code.substr(0, accounts::kInviteHintChars);
  invite.created_by = c.user;
  invite.created_at = d_.clock.NowMs();
  invite.expires_at = p.expires_in_s == 0 ? 0 : invite.created_at + p.expires_in_s * 1000;
  invite.uses_left = p.uses;
  d_.store.WriteAccountsResult<InviteCode>(
      ExecutorOf(c),
      [invite](AccountsTxn& txn) -> Result<InviteCode> {
        InviteCode made = invite;
        NATTER_TRY(made.id, txn.InsertInviteCode(made));
        return made;
      },
      [reply = std::move(reply), code](Result<InviteCode> made) {
        if (!made.ok()) return reply(made.take_error());
        json::object answer = InviteJson(*made);
        answer["code"] = code;
        reply(json::value(std::move(answer)));
      });
}

void Dispatcher::AdminListInvites(const Caller& c, NoParams, Reply reply) {
  d_.store.ReadAccountsResult<std::vector<InviteCode>>(
      ExecutorOf(c), [](AccountsTxn& txn) { return txn.ListInviteCodes(); },
      [reply = std::move(reply)](Result<std::vector<InviteCode>> r) {
        if (!r.ok()) return reply(r.take_error());
        std::vector<InviteCode> codes = std::move(r).value();
        json::array list;
        for (const auto& code : codes) list.push_back(InviteJson(code));
        reply(json::value(json::object{{"invite_codes", std::move(list)}}));
      });
}

void Dispatcher::AdminDeleteInvite(const Caller& c, InviteIdParams p, Reply reply) {
  d_.store.WriteAccountsResult<bool>(
      ExecutorOf(c), [id = p.invite_id](AccountsTxn& txn) { return txn.DeleteInviteCode(id); },
      [reply = std::move(reply), id = p.invite_id](Result<bool> deleted) {
        if (!deleted.ok()) return reply(deleted.take_error());
        if (!*deleted) return reply(NotFound("no such invite code"));
        reply(json::value(json::object{{"invite_id", id}, {"deleted", true}}));
      });
}

}  // namespace natter::api
