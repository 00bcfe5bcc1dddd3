#include "chat/blocks.h"

#include <charconv>
#include <string>

namespace natter::chat {

std::optional<UserId> DirectPeer(const Conversation& c, UserId me) {
  if (c.kind != ConversationKind::kDirect) return std::nullopt;
  // The key is "<low id>:<high id>" (DirectKey).
  auto colon = c.direct_key.find(':');
  if (colon == std::string::npos) return std::nullopt;
  UserId low = 0, high = 0;
  const char* begin = c.direct_key.data();
  const char* end = begin + c.direct_key.size();
  if (std::from_chars(begin, begin + colon, low).ec != std::errc() ||
      std::from_chars(begin + colon + 1, end, high).ec != std::errc()) {
    return std::nullopt;
  }
  return low == me ? high : low;
}

Status CheckMayWrite(AccountsReader& accounts, UserId writer, UserId reader) {
  NATTER_TRY(bool refused, accounts.IsBlocked(reader, writer));
  if (refused) return Forbidden("this user does not accept messages from you");
  NATTER_TRY(bool blocked, accounts.IsBlocked(writer, reader));
  if (blocked) return Forbidden("you blocked this user; unblock them to write to them");
  return OkStatus();
}

Status CheckMayAdd(AccountsReader& accounts, UserId adder, UserId target) {
  NATTER_TRY(bool refused, accounts.IsBlocked(target, adder));
  if (refused) return Forbidden("user " + std::to_string(target) + " does not accept invitations from you");
  return OkStatus();
}

Result<std::set<UserId>> Estranged(AccountsReader& accounts, UserId user) {
  NATTER_TRY(auto blockers, accounts.BlockersOf(user));
  NATTER_TRY(auto blocked, accounts.ListBlocked(user));
  std::set<UserId> out(blockers.begin(), blockers.end());
  for (const auto& b : blocked) out.insert(b.user_id);
  return out;
}

}  // namespace natter::chat
