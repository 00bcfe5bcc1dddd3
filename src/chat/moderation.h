// What a server moderator does inside a conversation (docs/admin.md,
// "Conversations"): mute a member (they read but may not post, edit or react
// until the mute ends or is lifted) and ban a user (they are taken out, an
// invitation of theirs goes, and nobody may add them back until the ban is
// lifted). Direct chats have neither: there, users block each other and
// moderators suspend.
//
// Thread-safety: pure functions over the caller's transaction.
#pragma once

#include <optional>
#include <string>

#include "chat/conversations.h"
#include "chat/limits.h"
#include "store/store.h"

namespace natter::chat {

// Mutes member `user` in `id` until `until` (ms; kMutedForever: until
// lifted), or lifts a mute (0; also of one who left since). The member as
// they are now (only the ids and the mute when they are not one).
Result<Member> SilenceMember(ConversationTxn& txn, ConversationId id, UserId user, int64_t until);

// Bans `user` from `id` (again: the reason and time are updated). The view
// after they were taken out, if they were a member.
Result<std::optional<ConversationView>> BanMember(ConversationTxn& txn, const ChatLimits& limits,
                                                  const ConversationBan& ban);
// Whether there was a ban to lift.
Result<bool> LiftBan(ConversationTxn& txn, ConversationId id, UserId user);
Result<std::vector<ConversationBan>> ListBans(ConversationTxn& txn, ConversationId id);

// A muted member's refusal, if `member` is muted at `now_ms`.
Status CheckNotSilenced(const Member& member, int64_t now_ms);

}  // namespace natter::chat
