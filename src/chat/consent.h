// Consent: whether an addition to a group or channel puts the user in at
// once or waits for them as an invitation.
//
// A user is added at once when their setting (User::group_adds, or the
// server's default while they never chose) allows the
// adder (everyone; or contacts, and they chose to be in touch with the adder:
// a conversation that is not large is shared, and a direct one they started
// or wrote in, since anyone may open one with anyone) and they have not left
// or declined this conversation
// since; anyone else gets an invitation to accept or decline. Blocks come
// first (chat/blocks.h): a blocked adder is refused, not turned into an
// invitation.
#pragma once

#include <set>
#include <unordered_set>
#include <vector>

#include "natter/model.h"
#include "natter/status.h"
#include "store/store.h"

namespace natter::chat {

// Which of the users being added chose to be in touch with the adder
// (ConversationTxn::ChosenContacts). Read from every partition before the
// write, which sees only its own.
using Contacts = std::unordered_set<UserId>;

struct ConsentSplit {
  std::vector<UserId> added;    // in at once
  std::vector<UserId> invited;  // asked first
};

// Splits `users` (who exist, or not_found) by consent to be added to
// `conversation` (0: one being created) by the adder `contacts` was read for.
Result<ConsentSplit> SplitByConsent(ConversationTxn& txn, ConversationId conversation, const std::set<UserId>& users,
                                    const Contacts& contacts, GroupAdds default_group_adds);

// Invites `users` to `conversation` with `role`; the invitations made (a
// user with one waiting keeps it and is not told again).
Result<std::vector<Invitation>> Invite(ConversationTxn& txn, UserId adder, ConversationId conversation,
                                       const std::vector<UserId>& users, Role role, int64_t now_ms);

// Joins the invitations of every store partition, newest first, at most
// `limit`; a partition that failed leaves its own out, all failed: the first error.
Result<std::vector<PendingInvitation>> MergeInvitations(std::vector<Result<std::vector<PendingInvitation>>> parts,
                                                        size_t limit);

}  // namespace natter::chat
