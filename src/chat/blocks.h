// Blocks between users: who may reach whom. A user who blocked another gets
// no direct messages, group additions, typing or presence from them, and
// shows them no presence either; their messages in groups both are in are
// flagged for the blocker's client to hide (docs/protocol.md §5.27).
// Thread-safety: pure functions over a transaction's reads.
#pragma once

#include <optional>
#include <set>

#include "natter/model.h"
#include "natter/status.h"
#include "store/store.h"

namespace natter::chat {

// The other user of a direct conversation; nullopt for any other kind.
std::optional<UserId> DirectPeer(const Conversation& c, UserId me);
// Forbidden when `writer` may not write to `reader` directly: either
// blocked the other.
Status CheckMayWrite(AccountsReader& accounts, UserId writer, UserId reader);
// Forbidden when `target` blocked `adder`: nobody puts a user into a
// conversation whom that user blocked.
Status CheckMayAdd(AccountsReader& accounts, UserId adder, UserId target);
// Everyone `user` blocked or was blocked by: they see nothing of each other's
// presence or typing.
Result<std::set<UserId>> Estranged(AccountsReader& accounts, UserId user);

}  // namespace natter::chat
