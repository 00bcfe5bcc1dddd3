#include "chat/blocks.h"

#include <string>

#include "chat/conversations.h"

namespace natter::chat {

std::optional<UserId> DirectPeer(const Conversation& c, UserId me) {
  if (c.kind != ConversationKind::kDirect) return std::nullopt;
  auto pair = ParseDirectKey(c.direct_key);
  if (!pair) return std::nullopt;
  if (pair->first == me) return pair->second;
  if (pair->second == me) return pair->first;
  return std::nullopt;
}

Status CheckMayWrite(AccountsReader& accounts, UserId writer, UserId reader) {
  NATTER_TRY(auto state, accounts.BlocksBetween(writer, reader));
  if (state.b_erased) return Forbidden("this account was erased");
  if (state.b_blocked_a) return Forbidden("this user does not accept messages from you");
  if (state.a_blocked_b) return Forbidden("you blocked this user; unblock them to write to them");
  return OkStatus();
}

Status CheckMayWriteIn(AccountsReader& accounts, const Conversation& c, UserId writer) {
  auto peer = DirectPeer(c, writer);
  return peer ? CheckMayWrite(accounts, writer, *peer) : OkStatus();
}

Status CheckMayAdd(AccountsReader& accounts, UserId adder, const std::vector<UserId>& targets) {
  if (targets.empty()) return OkStatus();
  NATTER_TRY(auto refusing, accounts.BlockersAmong(adder, targets));
  if (refusing.empty()) return OkStatus();
  return Forbidden("user " + std::to_string(refusing.front()) + " does not accept invitations from you");
}

Result<std::set<UserId>> BlockedEitherWay(AccountsReader& accounts, UserId user) {
  NATTER_TRY(auto ids, accounts.BlockedEitherWay(user));
  return std::set<UserId>(ids.begin(), ids.end());
}

}  // namespace natter::chat
