#include "chat/permissions.h"

#include <gtest/gtest.h>

namespace natter::chat {
namespace {

constexpr auto kDirect = ConversationKind::kDirect;
constexpr auto kGroup = ConversationKind::kGroup;
constexpr auto kChannel = ConversationKind::kChannel;

TEST(Permissions, PostingByKindAndRole) {
  EXPECT_TRUE(CanPost(kDirect, Role::kMember));
  EXPECT_TRUE(CanPost(kGroup, Role::kMember));
  EXPECT_FALSE(CanPost(kGroup, Role::kReadOnly));
  EXPECT_FALSE(CanPost(kChannel, Role::kMember));
  EXPECT_TRUE(CanPost(kChannel, Role::kAdmin));
  EXPECT_TRUE(CanPost(kChannel, Role::kOwner));
}

TEST(Permissions, OnlyAdminsAddAndNeverInDirect) {
  EXPECT_FALSE(CanAddMembers(kGroup, Role::kMember));
  EXPECT_TRUE(CanAddMembers(kGroup, Role::kAdmin));
  EXPECT_FALSE(CanAddMembers(kDirect, Role::kOwner));
}

TEST(Permissions, RemovalNeedsAStrongerRole) {
  EXPECT_TRUE(CanRemoveMember(kGroup, Role::kAdmin, Role::kMember));
  EXPECT_FALSE(CanRemoveMember(kGroup, Role::kAdmin, Role::kAdmin));
  EXPECT_TRUE(CanRemoveMember(kGroup, Role::kOwner, Role::kAdmin));
  EXPECT_FALSE(CanRemoveMember(kGroup, Role::kMember, Role::kReadOnly));
  EXPECT_FALSE(CanRemoveMember(kDirect, Role::kOwner, Role::kMember));
}

TEST(Permissions, RoleChanges) {
  EXPECT_FALSE(CanChangeRole(kGroup, Role::kMember, Role::kMember, Role::kAdmin));
  EXPECT_TRUE(CanChangeRole(kGroup, Role::kAdmin, Role::kMember, Role::kReadOnly));
  EXPECT_FALSE(CanChangeRole(kGroup, Role::kAdmin, Role::kAdmin, Role::kMember));
  EXPECT_FALSE(CanChangeRole(kGroup, Role::kAdmin, Role::kMember, Role::kOwner));
  EXPECT_TRUE(CanChangeRole(kGroup, Role::kOwner, Role::kAdmin, Role::kOwner));
  EXPECT_FALSE(CanChangeRole(kGroup, Role::kOwner, Role::kOwner, Role::kMember));
  EXPECT_FALSE(CanChangeRole(kDirect, Role::kOwner, Role::kMember, Role::kAdmin));
}

TEST(Permissions, RenameAndLeave) {
  EXPECT_TRUE(CanRename(kChannel, Role::kAdmin));
  EXPECT_FALSE(CanRename(kGroup, Role::kMember));
  EXPECT_FALSE(CanRename(kDirect, Role::kMember));
  EXPECT_TRUE(CanLeave(kGroup, Role::kMember));
  EXPECT_FALSE(CanLeave(kGroup, Role::kOwner));
  EXPECT_FALSE(CanLeave(kDirect, Role::kMember));
}

}  // namespace
}  // namespace natter::chat
