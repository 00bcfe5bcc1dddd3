// Who may do what in a conversation: pure functions of kinds and roles, so the
// rules are in one place and tested without storage.
//
//   action              direct   group                      channel
//   post                member+  member+                    admin+
//   add members         no       admin+                     admin+
//   remove someone      no       admin+, only weaker roles  same
//   change a role       no       admin: members and read-only, below admin;
//                                owner: anyone but itself (naming a new owner hands over)
//   rename              no       admin+                     admin+
//   leave               no       anyone but the owner (who must hand over first)
#pragma once

#include "natter/model.h"

namespace natter::chat {

bool CanPost(ConversationKind kind, Role role);
bool CanAddMembers(ConversationKind kind, Role role);
bool CanRemoveMember(ConversationKind kind, Role actor, Role target);
bool CanChangeRole(ConversationKind kind, Role actor, Role target_current, Role target_new);
bool CanRename(ConversationKind kind, Role role);
bool CanLeave(ConversationKind kind, Role role);
// The role a new member gets when none is asked for.
Role DefaultRole(ConversationKind kind);

}  // namespace natter::chat
