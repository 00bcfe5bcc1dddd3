#include "chat/consent.h"

#include <algorithm>
#include <tuple>

namespace natter::chat {

Result<ConsentSplit> SplitByConsent(ConversationTxn& txn, ConversationId conversation, const std::set<UserId>& users,
                                    const Contacts& contacts, GroupAdds default_group_adds) {
  ConsentSplit split;
  for (UserId u : users) {
    NATTER_TRY(auto user, txn.accounts().FindUser(u));
    if (!user || user->erased_at != 0) return NotFound("user " + std::to_string(u) + " not found");
    GroupAdds who = user->group_adds.value_or(default_group_adds);
    bool allows = who == GroupAdds::kEveryone || (who == GroupAdds::kContacts && contacts.contains(u));
    bool departed = false;
    if (allows && conversation != 0) {
      NATTER_TRY(departed, txn.HasDeparted(conversation, u));
    }
    (allows && !departed ? split.added : split.invited).push_back(u);
  }
  return split;
}

Result<std::vector<Invitation>> Invite(ConversationTxn& txn, UserId adder, ConversationId conversation,
                                       const std::vector<UserId>& users, Role role, int64_t now_ms) {
  std::vector<Invitation> made;
  for (UserId u : users) {
    Invitation invitation{conversation, u, adder, role, now_ms};
    NATTER_TRY(bool put, txn.PutInvitation(invitation));
    if (put) made.push_back(invitation);
  }
  return made;
}

Result<std::vector<PendingInvitation>> MergeInvitations(std::vector<Result<std::vector<PendingInvitation>>> parts,
                                                        size_t limit) {
  NATTER_TRY(auto all, JoinAnswered(std::move(parts)));
  std::sort(all.begin(), all.end(), [](const PendingInvitation& a, const PendingInvitation& b) {
    return std::tie(a.invitation.created_at, a.invitation.conversation_id) >
           std::tie(b.invitation.created_at, b.invitation.conversation_id);
  });
  if (all.size() > limit) all.resize(limit);
  return all;
}

}  // namespace natter::chat
