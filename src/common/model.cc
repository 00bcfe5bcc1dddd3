#include "natter/model.h"

#include <utility>

namespace natter {

std::string_view KindName(ConversationKind kind) {
  switch (kind) {
    case ConversationKind::kDirect:
      return "direct";
    case ConversationKind::kGroup:
      return "group";
    case ConversationKind::kChannel:
      return "channel";
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
    case Role::kReadOnly:
      return "read_only";
    case Role::kMember:
      return "member";
    case Role::kAdmin:
      return "admin";
    case Role::kOwner:
      return "owner";
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

std::string_view ServerRoleName(ServerRole role) {
  switch (role) {
    case ServerRole::kNone:
      return "none";
    case ServerRole::kModerator:
      return "moderator";
    case ServerRole::kAdmin:
      return "admin";
  }
  return "none";
}

std::optional<ServerRole> ParseServerRole(std::string_view name) {
  if (name == "none" || name.empty()) return ServerRole::kNone;
  if (name == "moderator") return ServerRole::kModerator;
  if (name == "admin") return ServerRole::kAdmin;
  return std::nullopt;
}

std::string_view GroupAddsName(GroupAdds who) {
  switch (who) {
    case GroupAdds::kEveryone:
      return "everyone";
    case GroupAdds::kContacts:
      return "contacts";
    case GroupAdds::kNobody:
      return "nobody";
  }
  return "contacts";
}

std::optional<GroupAdds> ParseGroupAdds(std::string_view name) {
  if (name == "everyone") return GroupAdds::kEveryone;
  if (name == "contacts") return GroupAdds::kContacts;
  if (name == "nobody") return GroupAdds::kNobody;
  return std::nullopt;
}

namespace {
constexpr std::pair<EventKind, std::string_view> kEventKinds[] = {
    {EventKind::kMessage, "message"},
    {EventKind::kEdit, "edit"},
    {EventKind::kDelete, "delete"},
    {EventKind::kReaction, "reaction"},
    {EventKind::kMemberJoined, "member_joined"},
    {EventKind::kMemberLeft, "member_left"},
    {EventKind::kMemberRemoved, "member_removed"},
    {EventKind::kRoleChanged, "role_changed"},
    {EventKind::kTitleChanged, "title_changed"},
};
}  // namespace

std::string_view EventKindName(EventKind kind) {
  for (const auto& [k, name] : kEventKinds) {
    if (k == kind) return name;
  }
  return "message";
}

std::optional<EventKind> ParseEventKind(std::string_view name) {
  for (const auto& [k, n] : kEventKinds) {
    if (n == name) return k;
  }
  return std::nullopt;
}

}  // namespace natter
