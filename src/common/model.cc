#include "natter/model.h"

namespace natter {

std::string_view KindName(ConversationKind kind) {
  switch (kind) {
    case ConversationKind::kDirect: return "direct";
    case ConversationKind::kGroup: return "group";
    case ConversationKind::kChannel: return "channel";
  }
  return "group";
}

std::optional<ConversationKind> ParseKind(std::string_view name) {
  if (name == "direct") return ConversationKind::kDirect;
  if (name == "group") return ConversationKind::kGroup;
  if (name == "channel") return ConversationKind::kChannel;
  return std::nullopt;
}

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kReadOnly: return "read_only";
    case Role::kMember: return "member";
    case Role::kAdmin: return "admin";
    case Role::kOwner: return "owner";
  }
  return "member";
}

std::optional<Role> ParseRole(std::string_view name) {
  if (name == "read_only") return Role::kReadOnly;
  if (name == "member") return Role::kMember;
  if (name == "admin") return Role::kAdmin;
  if (name == "owner") return Role::kOwner;
  return std::nullopt;
}

}  // namespace natter
