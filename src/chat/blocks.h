// Blocks between users: who may reach whom. While A has blocked B, neither
// writes to the other directly (messages, edits, reactions, a new direct
// conversation), B puts A into no conversation, and neither gets the other's
// typing, presence or push alerts; B's messages in a group both are in are
// flagged `blocked_sender` for A (docs/protocol.md §5.27).
// Thread-safety: pure functions over a transaction's reads.
#pragma once

#include <optional>
#include <set>
#include <vector>

#include "natter/model.h"
#include "natter/status.h"
#include "store/store.h"

namespace natter::chat {

// The other user of a direct conversation; nullopt for any other kind (or
// when `me` is not one of its two).
std::optional<UserId> DirectPeer(const Conversation& c, UserId me);
// Forbidden when `writer` may not write to `reader` directly: either
// blocked the other.
Status CheckMayWrite(AccountsReader& accounts, UserId writer, UserId reader);
// In a direct conversation, CheckMayWrite against its other user; nothing
// for any other kind.
Status CheckMayWriteIn(AccountsReader& accounts, const Conversation& c, UserId writer);
// Forbidden, naming them, when any of `targets` blocked `adder`: nobody puts
// a user into a conversation whom that user blocked.
Status CheckMayAdd(AccountsReader& accounts, UserId adder, const std::vector<UserId>& targets);
// Everyone `user` blocked or was blocked by.
Result<std::set<UserId>> BlockedEitherWay(AccountsReader& accounts, UserId user);

}  // namespace natter::chat
