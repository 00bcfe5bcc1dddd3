// users.block and users.blocks: whom a user does not hear from (chat/blocks.h
// says what a block stops).
#include "api/dispatcher.h"

namespace natter::api {

namespace json = boost::json;

void Dispatcher::Block(const Caller& c, BlockParams p, Reply reply) {
  d_.store.WriteAccounts(
      ExecutorOf(c),
      [user = c.user, p, now = d_.clock.NowMs()](AccountsTxn& txn) -> Status {
        if (p.user_id == user) return BadRequest("you cannot block yourself");
        NATTER_TRY(auto whom, txn.FindUser(p.user_id));
        if (!whom) return NotFound("no such user");
        return txn.SetBlocked(user, p.user_id, p.blocked, now);
      },
      [reply = std::move(reply), p](Status st) {
        if (!st.ok()) return reply(st.take_error());
        reply(json::value(json::object{{"user_id", p.user_id}, {"blocked", p.blocked}}));
      });
}

void Dispatcher::ListBlocks(const Caller& c, NoParams, Reply reply) {
  d_.store.ReadAccountsResult<std::vector<BlockedUser>>(
      ExecutorOf(c), [user = c.user](AccountsTxn& txn) { return txn.ListBlocked(user); },
      [reply = std::move(reply)](Result<std::vector<BlockedUser>> r) {
        if (!r.ok()) return reply(r.take_error());
        json::array list;
        for (const auto& b : *r) {
          list.push_back(json::object{{"user_id", b.user_id}, {"handle", b.handle}, {"blocked_at", b.blocked_at}});
        }
        reply(json::value(json::object{{"blocked", std::move(list)}}));
      });
}

}  // namespace natter::api
