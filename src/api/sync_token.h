// The opaque sync token a client resumes from: its position (pts and the seq
// of each large conversation) for one user, signed with the server's current
// key so any node can check it, and a client can neither forge nor borrow one.
// It holds a pts for each store partition by position, not the instances'
// names or addresses, so it keeps working on every node of a cluster.
#pragma once

#include <string>
#include <string_view>

#include "auth/key_ring.h"
#include "chat/sync.h"
#include "natter/status.h"

namespace natter::api {

std::string EncodeSyncToken(const auth::KeyRing& keys, UserId user, const chat::SyncPosition& position);
// bad_request "invalid sync token" for anything tampered, malformed, or made
// for another user. An empty optional when it names a key this server no longer
// has (rotated out): the client must resync, which reveals nothing.
Result<std::optional<chat::SyncPosition>> DecodeSyncToken(const auth::KeyRing& keys, UserId user,
                                                          std::string_view token);

}  // namespace natter::api
