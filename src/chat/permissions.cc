#include "chat/permissions.h"

namespace natter::chat {

bool CanPost(ConversationKind kind, Role role) {
  if (kind == ConversationKind::kChannel) return role >= Role::kAdmin;
  return role >= Role::kMember;
}

bool CanAddMembers(ConversationKind kind, Role role) {
  return kind != ConversationKind::kDirect && role >= Role::kAdmin;
}

bool CanRemoveMember(ConversationKind kind, Role actor, Role target) {
  return kind != ConversationKind::kDirect && actor >= Role::kAdmin && actor > target;
}

bool CanChangeRole(ConversationKind kind, Role actor, Role target_current, Role target_new) {
  if (kind == ConversationKind::kDirect) return false;
  if (target_current == Role::kOwner) return false;  // the owner's role changes only by hand-over
  if (actor == Role::kOwner) return true;            // includes handing ownership over
  return actor == Role::kAdmin && target_current < Role::kAdmin && target_new < Role::kAdmin;
}

bool CanRename(ConversationKind kind, Role role) { return kind != ConversationKind::kDirect && role >= Role::kAdmin; }

bool CanLeave(ConversationKind kind, Role role) { return kind != ConversationKind::kDirect && role != Role::kOwner; }

Role DefaultRole(ConversationKind kind) {
  (void)kind;  // channels differ in who may post, not in the default role
  return Role::kMember;
}

}  // namespace natter::chat
