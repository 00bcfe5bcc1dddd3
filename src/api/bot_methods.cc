// auth.bot and admin.bots.*: accounts for programs, which sign in with a
// long-lived token (docs/admin.md, "Bots").
#include "api/answers.h"
#include "api/dispatcher.h"
#include "api/json_views.h"

namespace natter::api {

namespace json = boost::json;

void Dispatcher::BotLogin(const Caller& c, BotLoginParams p, Reply reply) {
  d_.accounts.BotLogin(ExecutorOf(c), p.token, c.address,
                       Respond<accounts::LoginResult>(std::move(reply), [](const auto& r) { return ToJson(r); }));
}

void Dispatcher::AdminCreateBot(const Caller& c, CreateBotParams p, Reply reply) {
  d_.accounts.CreateBot(ExecutorOf(c), std::move(p.handle), std::move(p.display_name),
                        [reply = std::move(reply)](Result<accounts::AccountService::BotMade> made) {
                          if (!made.ok()) return reply(made.take_error());
                          json::object answer = ToJson(made->user);
                          answer["token"] = made->token;  // shown once: only its hash is kept
                          reply(json::value(std::move(answer)));
                        });
}

void Dispatcher::AdminRotateBotToken(const Caller& c, UserIdParams p, Reply reply) {
  d_.accounts.RotateBotToken(ExecutorOf(c), p.user_id, [reply = std::move(reply)](Result<std::string> token) {
    if (!token.ok()) return reply(token.take_error());
    reply(json::value(json::object{{"token", *token}}));
  });
}

}  // namespace natter::api
