// Conversation use cases: create, change membership and roles, rename, list.
// Each runs inside one store transaction (ConversationTxn), so its checks and writes
// are atomic. Knows nothing of sockets or SQL.
//
// Privacy rule: a conversation the caller is not a member of answers exactly
// like one that does not exist (not_found), so ids reveal nothing.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "chat/consent.h"
#include "chat/limits.h"
#include "chat/timeline.h"
#include "common/id_generator.h"
#include "natter/model.h"
#include "natter/status.h"
#include "store/store.h"

namespace natter::chat {

struct Context {
  UserId caller = 0;
  int64_t now_ms = 0;
  // A server moderator acting through the admin API (docs/admin.md): may
  // delete any message, member or not.
  bool server_moderator = false;
  SessionId session = 0;  // the caller's session (0: none, as for system tasks)
};

struct ConversationView {
  Conversation conversation;
  std::vector<Member> members;
  // What a change appended to the timeline (system events), for fan-out.
  std::vector<Appended> events;
  // Who gets the conversation's new state, with the pts of the log entry the
  // change made for them (0: none). Empty for reads.
  std::vector<Recipient> notified;
  // Of those, who learns of the conversation by this change (created, added):
  // they get all of it. The others knew it and get only what changed, so a
  // change in a large group never sends every member the whole list.
  std::vector<UserId> joined;
  std::vector<Member> members_changed;  // added, or with a new role
  std::vector<UserId> members_removed;  // removed, or left
  // Users a creation or addition invited instead of adding (chat/consent.h),
  // and of their invitations the ones it made (the others were waiting):
  // each new one is told to its user.
  std::vector<UserId> invited = {};
  std::vector<Invitation> invitations = {};
  // Users whose waiting invitation an addition took the place of: their
  // devices drop it.
  std::vector<UserId> invitations_closed = {};
};

// An encrypted send names every member's devices (chat/envelopes.h) in one
// frame: past a few hundred members that list outgrows what a client can
// send, so encrypted groups stop at this size.
inline constexpr int64_t kMaxEncryptedMembers = 256;
// The most members a conversation may have.
int64_t MaxMembers(bool encrypted, const ChatLimits& limits);

// The key that makes a direct chat unique: its two users, lower id first,
// and whether it is end-to-end encrypted (a pair may have one of each).
std::string DirectKey(UserId a, UserId b, bool encrypted = false);
// The two users of a DirectKey; nullopt for anything else.
std::optional<std::pair<UserId, UserId>> ParseDirectKey(std::string_view key);

// Direct chat between caller and peer; returns the existing one if there is
// one, or creates it with `new_id`. The caller picks the id, so it knows the
// store partition before the transaction starts.
Result<ConversationView> CreateDirect(ConversationTxn& txn, const Context& ctx, ConversationId new_id,
                                      const ChatLimits& limits, UserId peer, bool encrypted = false);

struct CreateGroupRequest {
  ConversationKind kind = ConversationKind::kGroup;  // group or channel
  std::string title;
  std::vector<UserId> members;  // besides the caller, who becomes owner
  Contacts contacts = {};       // of those, who share a conversation with the caller
  bool encrypted = false;       // end-to-end (docs/e2ee.md): groups only, never channels
};
Result<ConversationView> CreateGroup(ConversationTxn& txn, const Context& ctx, ConversationId new_id,
                                     const ChatLimits& limits, const CreateGroupRequest& req);

// The conversation with its members, if the caller is a member.
Result<ConversationView> GetConversation(ConversationTxn& txn, const Context& ctx, ConversationId id);

// Adds `users` who consent (chat/consent.h: `contacts` are those of them
// who share a conversation with the caller) and invites the others.
Result<ConversationView> AddMembers(ConversationTxn& txn, const Context& ctx, const ChatLimits& limits,
                                    ConversationId id, const std::vector<UserId>& users, Role role,
                                    const Contacts& contacts);
// The caller takes up their invitation to `id` and becomes a member, with
// the role they were invited to.
Result<ConversationView> AcceptInvitation(ConversationTxn& txn, const Context& ctx, const ChatLimits& limits,
                                          ConversationId id);
// The caller turns down their invitation to `id`: it is gone, and so is
// being added to `id` without asking (chat/consent.h).
Result<Invitation> DeclineInvitation(ConversationTxn& txn, const Context& ctx, ConversationId id);
// Removes `user`; when user == caller this is "leave".
Result<ConversationView> RemoveMember(ConversationTxn& txn, const Context& ctx, const ChatLimits& limits,
                                      ConversationId id, UserId user);
// The server takes `user` out of the group or channel `id`, whatever their
// role (docs/admin.md): erasing them (no `moderator`: member_left), or a
// moderator's ban (member_removed, by the moderator). An invitation they
// had to it goes. When they owned it, the member with the highest role who
// joined first (and is not erased) owns it now. None when they were not a
// member, or `id` is direct: a direct chat keeps its two members, and nobody
// writes to an erased one (chat/blocks.h).
Result<std::optional<ConversationView>> ExpelMember(ConversationTxn& txn, const ChatLimits& limits, ConversationId id,
                                                    UserId user, int64_t now_ms, UserId moderator = 0);
Result<ConversationView> ChangeRole(ConversationTxn& txn, const Context& ctx, const ChatLimits& limits,
                                    ConversationId id, UserId user, Role role);
Result<ConversationView> Rename(ConversationTxn& txn, const Context& ctx, const ChatLimits& limits, ConversationId id,
                                const std::string& title);

// Joins the lists of every store partition, newest activity first. A
// partition that failed leaves its conversations out until it is back; when
// all failed, the first error.
Result<std::vector<ConversationSummary>> MergeConversationLists(
    std::vector<Result<std::vector<ConversationSummary>>> parts, const ChatLimits& limits, int limit);

// The caller's conversations after `before`, newest activity first; at most
// `limit` (0 or over the cap: the cap), so a list of any length pages.
Result<std::vector<ConversationSummary>> ListMyConversations(ConversationTxn& txn, const Context& ctx,
                                                             ListCursor before, const ChatLimits& limits, int limit);

// Loads the caller's membership of `id`, or not_found when there is none.
Result<std::pair<Conversation, Member>> RequireMember(ConversationTxn& txn, UserId caller, ConversationId id);

}  // namespace natter::chat
