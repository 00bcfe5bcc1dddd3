#include "chat/conversations.h"

#include <algorithm>
#include <charconv>
#include <set>
#include <tuple>

#include "chat/blocks.h"
#include "chat/permissions.h"
#include "chat/text_rules.h"

namespace natter::chat {
namespace {

Status CheckTitle(const ChatLimits& limits, const std::string& title) {
  if (title.size() > limits.max_title_bytes) return TooLarge("title is too long");
  if (!IsValidUtf8Text(title)) return BadRequest("title must be valid UTF-8 text");
  return OkStatus();
}

Status RequireUserExists(ConversationTxn& txn, UserId id) {
  NATTER_TRY(auto user, txn.accounts().FindUser(id));
  if (!user || user->erased_at != 0) return NotFound("user " + std::to_string(id) + " not found");
  return OkStatus();
}

Result<ConversationView> View(ConversationTxn& txn, ConversationId id) {
  NATTER_TRY(auto conversation, txn.FindConversation(id));
  if (!conversation) return NotFound("conversation not found");
  NATTER_TRY(auto members, txn.ListMembers(id));
  ConversationView view;
  view.conversation = std::move(*conversation);
  view.members = std::move(members);
  return view;
}

// What a change did to the member list.
struct MemberChange {
  std::vector<Member> changed;  // new members (who also join) or new roles
  std::vector<UserId> removed;
  bool added = false;                           // `changed` holds new members
  std::vector<UserId> invitations_closed = {};  // added users who had an invitation waiting
};

// The view after a change, with the events it appended; everyone who is (or
// just was) a member hears of the new state: new members all of it, the
// others what changed.
Result<ConversationView> ViewAfter(ConversationTxn& txn, ConversationId id, std::vector<Appended> events,
                                   MemberChange change = {}) {
  NATTER_TRY(auto view, View(txn, id));
  for (const auto& m : view.members) view.notified.push_back(Recipient{m.user_id, 0});
  for (UserId u : change.removed) view.notified.push_back(Recipient{u, 0});
  if (change.added) {
    for (const auto& m : change.changed) view.joined.push_back(m.user_id);
  }
  view.members_changed = std::move(change.changed);
  view.members_removed = std::move(change.removed);
  view.invitations_closed = std::move(change.invitations_closed);
  view.events = std::move(events);
  return view;
}

Message SystemEvent(EventKind kind, UserId actor, std::optional<UserId> target, std::string text = {}) {
  Message e;
  e.kind = kind;
  e.sender_id = actor;
  e.target_user = target;
  e.text = std::move(text);
  return e;
}

// A new conversation has no timeline yet: each member's log records that it
// exists, so their next sync finds it.
Result<ConversationView> Created(ConversationTxn& txn, const ChatLimits& limits, ConversationId id) {
  NATTER_TRY(auto view, View(txn, id));
  std::vector<UserId> users;
  users.reserve(view.members.size());
  for (const auto& m : view.members) users.push_back(m.user_id);
  NATTER_TRY(auto pts, LogForUsers(txn, limits, users, id, 0));
  for (size_t i = 0; i < users.size(); ++i) view.notified.push_back(Recipient{users[i], pts[i]});
  view.joined = std::move(users);
  return view;
}

}  // namespace

Result<std::pair<Conversation, Member>> RequireMember(ConversationTxn& txn, UserId caller, ConversationId id) {
  NATTER_TRY(auto membership, txn.FindMembership(id, caller));
  if (!membership) return NotFound("conversation not found");
  return std::move(*membership);
}

namespace {
constexpr std::string_view kEncryptedSuffix = ":e2ee";
}  // namespace

int64_t MaxMembers(bool encrypted, const ChatLimits& limits) {
  return encrypted ? std::min(limits.max_group_members, kMaxEncryptedMembers) : limits.max_group_members;
}

std::string DirectKey(UserId a, UserId b, bool encrypted) {
  return std::to_string(std::min(a, b)) + ":" + std::to_string(std::max(a, b)) +
         std::string(encrypted ? kEncryptedSuffix : "");
}

std::optional<std::pair<UserId, UserId>> ParseDirectKey(std::string_view key) {
  if (key.ends_with(kEncryptedSuffix)) key.remove_suffix(kEncryptedSuffix.size());
  auto colon = key.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  UserId low = 0, high = 0;
  const char* begin = key.data();
  const char* end = begin + key.size();
  auto [after_low, low_ec] = std::from_chars(begin, begin + colon, low);
  auto [after_high, high_ec] = std::from_chars(begin + colon + 1, end, high);
  if (low_ec != std::errc() || after_low != begin + colon || high_ec != std::errc() || after_high != end) {
    return std::nullopt;
  }
  return std::pair{low, high};
}

Result<ConversationView> CreateDirect(ConversationTxn& txn, const Context& ctx, ConversationId new_id,
                                      const ChatLimits& limits, UserId peer, bool encrypted) {
  if (peer == ctx.caller) return BadRequest("a direct conversation needs another user");
  NATTER_RETURN_IF_ERROR(RequireUserExists(txn, peer));
  UserId low = std::min(ctx.caller, peer), high = std::max(ctx.caller, peer);
  std::string key = DirectKey(low, high, encrypted);
  NATTER_TRY(auto existing, txn.FindDirect(key));
  if (existing) return View(txn, *existing);  // nothing changed: nobody to notify
  // A block stops a new one; one that exists stays readable.
  NATTER_RETURN_IF_ERROR(CheckMayWrite(txn.accounts(), ctx.caller, peer));

  Conversation c;
  c.id = new_id;
  c.kind = ConversationKind::kDirect;
  c.direct_key = key;
  c.encrypted = encrypted;
  c.created_by = ctx.caller;
  c.created_at = c.last_activity = ctx.now_ms;
  NATTER_RETURN_IF_ERROR(txn.InsertConversation(c));
  for (UserId u : {low, high}) {
    NATTER_RETURN_IF_ERROR(txn.InsertMember(Member{c.id, u, Role::kMember, ctx.now_ms, 0, 0}));
  }
  return Created(txn, limits, c.id);
}

Result<ConversationView> CreateGroup(ConversationTxn& txn, const Context& ctx, ConversationId new_id,
                                     const ChatLimits& limits, const CreateGroupRequest& req) {
  if (req.kind == ConversationKind::kDirect) return BadRequest("use a direct request for direct chats");
  if (req.encrypted && req.kind == ConversationKind::kChannel) {
    return BadRequest("channels are not end-to-end encrypted: whoever joins one reads it");
  }
  NATTER_RETURN_IF_ERROR(CheckTitle(limits, req.title));
  std::set<UserId> members(req.members.begin(), req.members.end());
  members.erase(ctx.caller);
  if (static_cast<int64_t>(members.size()) + 1 > MaxMembers(req.encrypted, limits)) {
    return TooLarge("a conversation may have at most " + std::to_string(MaxMembers(req.encrypted, limits)) +
                    " members" + (req.encrypted ? " when it is end-to-end encrypted" : ""));
  }
  NATTER_RETURN_IF_ERROR(CheckMayAdd(txn.accounts(), ctx.caller, std::vector<UserId>(members.begin(), members.end())));
  NATTER_TRY(auto split, SplitByConsent(txn, 0, members, req.contacts, limits.default_group_adds));

  Conversation c;
  c.id = new_id;
  c.kind = req.kind;
  c.title = req.title;
  c.encrypted = req.encrypted;
  c.created_by = ctx.caller;
  c.created_at = c.last_activity = ctx.now_ms;
  c.large = ShouldBeLarge(c, static_cast<int64_t>(split.added.size()) + 1, limits);
  c.by_seq = ShouldBeBySeq(c, static_cast<int64_t>(split.added.size()) + 1, limits);
  NATTER_RETURN_IF_ERROR(txn.InsertConversation(c));
  NATTER_RETURN_IF_ERROR(txn.InsertMember(Member{c.id, ctx.caller, Role::kOwner, ctx.now_ms, 0, 0}));
  for (UserId u : split.added) {
    NATTER_RETURN_IF_ERROR(txn.InsertMember(Member{c.id, u, DefaultRole(req.kind), ctx.now_ms, 0, 0}));
  }
  NATTER_TRY(auto invitations, Invite(txn, ctx.caller, c.id, split.invited, DefaultRole(req.kind), ctx.now_ms));
  NATTER_TRY(auto view, Created(txn, limits, c.id));
  view.invited = std::move(split.invited);
  view.invitations = std::move(invitations);
  return view;
}

Result<ConversationView> GetConversation(ConversationTxn& txn, const Context& ctx, ConversationId id) {
  NATTER_TRY(auto membership, RequireMember(txn, ctx.caller, id));
  (void)membership;
  return View(txn, id);
}

namespace {

// Refuses `adding` more members past the conversation's cap; returns the
// member count they would make. Read before anything is written, so a refusal
// changes nothing (a PostgreSQL batch would otherwise run again to undo it).
Result<int64_t> CheckRoom(ConversationTxn& txn, const ChatLimits& limits, const Conversation& conversation,
                          size_t adding) {
  NATTER_TRY(int64_t count, txn.CountMembers(conversation.id));
  int64_t new_count = count + static_cast<int64_t>(adding);
  if (new_count > MaxMembers(conversation.encrypted, limits)) {
    return TooLarge("this conversation may have at most " + std::to_string(MaxMembers(conversation.encrypted, limits)) +
                    " members");
  }
  return new_count;
}

// Puts `users` (none of them members) into `conversation` with `role`, added
// by `actor`, making `new_count` members (CheckRoom): switching it to large
// when it grows past the threshold, one member_joined event each. Settles what
// consent kept of them: an invitation waiting, a departure.
Result<MemberChange> Admit(ConversationTxn& txn, const Context& ctx, const ChatLimits& limits,
                           Conversation& conversation, const std::vector<UserId>& users, int64_t new_count, Role role,
                           UserId actor, std::vector<Appended>& events) {
  ConversationId id = conversation.id;
  if (!conversation.by_seq && ShouldBeBySeq(conversation, new_count, limits)) {
    // From now on members follow this conversation by its own seq. Each gets
    // one log entry at the switch, so their next sync learns where they are.
    NATTER_RETURN_IF_ERROR(txn.SetBySeq(id));
    NATTER_TRY(auto current, txn.ListMembers(id));
    for (const auto& m : current) {
      NATTER_TRY(int64_t pts, LogForUser(txn, limits, m.user_id, id, conversation.last_seq + 1));
      (void)pts;
    }
    conversation.by_seq = true;
  }
  if (!conversation.large && ShouldBeLarge(conversation, new_count, limits)) {
    NATTER_RETURN_IF_ERROR(txn.SetLarge(id));
    conversation.large = true;
  }
  MemberChange change;
  change.added = true;
  for (UserId u : users) {
    Member member{id, u, role, ctx.now_ms, 0, 0};
    NATTER_RETURN_IF_ERROR(txn.InsertMember(member));
    // A moderator's mute outlives leaving and coming back.
    NATTER_TRY(member.silenced_until, txn.FindSilenced(id, u));
    if (member.silenced_until > ctx.now_ms) {
      NATTER_RETURN_IF_ERROR(txn.SetSilenced(id, u, member.silenced_until));
    } else {
      member.silenced_until = 0;
    }
    NATTER_TRY(auto waiting, txn.FindInvitation(id, u));
    if (waiting) change.invitations_closed.push_back(u);
    NATTER_RETURN_IF_ERROR(txn.DeleteInvitation(id, u));
    NATTER_RETURN_IF_ERROR(txn.SetDeparted(id, u, false, 0));
    NATTER_TRY(auto e,
               AppendEvent(txn, conversation, SystemEvent(EventKind::kMemberJoined, actor, u), ctx.now_ms, limits));
    events.push_back(std::move(e));
    change.changed.push_back(member);
  }
  return change;
}

}  // namespace

Result<ConversationView> AddMembers(ConversationTxn& txn, const Context& ctx, const ChatLimits& limits,
                                    ConversationId id, const std::vector<UserId>& users, Role role,
                                    const Contacts& contacts) {
  NATTER_TRY(auto membership, RequireMember(txn, ctx.caller, id));
  auto& [conversation, me] = membership;
  if (!CanAddMembers(conversation.kind, me.role)) return Forbidden("your role may not add members");
  if (role >= me.role && me.role != Role::kOwner) return Forbidden("you may not grant a role as high as yours");
  if (role == Role::kOwner) return BadRequest("a conversation has one owner");
  if (users.empty()) return BadRequest("no users to add");
  std::set<UserId> to_add;
  for (UserId u : users) {
    NATTER_TRY(auto existing, txn.FindMember(id, u));
    if (existing) continue;
    NATTER_TRY(bool banned, txn.IsBanned(id, u));
    if (banned) return Forbidden("user " + std::to_string(u) + " is banned from this conversation by a moderator");
    to_add.insert(u);
  }
  NATTER_RETURN_IF_ERROR(CheckMayAdd(txn.accounts(), ctx.caller, std::vector<UserId>(to_add.begin(), to_add.end())));
  NATTER_TRY(auto split, SplitByConsent(txn, id, to_add, contacts, limits.default_group_adds));
  int64_t new_count = 0;
  if (!split.added.empty()) {  // before the invitations are written
    NATTER_TRY(new_count, CheckRoom(txn, limits, conversation, split.added.size()));
  }
  NATTER_TRY(auto invitations, Invite(txn, ctx.caller, id, split.invited, role, ctx.now_ms));
  if (split.added.empty()) {  // nobody joined: the members hear of nothing
    NATTER_TRY(auto view, View(txn, id));
    view.invited = std::move(split.invited);
    view.invitations = std::move(invitations);
    return view;
  }
  std::vector<Appended> events;
  NATTER_TRY(auto change, Admit(txn, ctx, limits, conversation, split.added, new_count, role, ctx.caller, events));
  NATTER_TRY(auto view, ViewAfter(txn, id, std::move(events), std::move(change)));
  view.invited = std::move(split.invited);
  view.invitations = std::move(invitations);
  return view;
}

Result<ConversationView> AcceptInvitation(ConversationTxn& txn, const Context& ctx, const ChatLimits& limits,
                                          ConversationId id) {
  NATTER_TRY(auto invitation, txn.FindInvitation(id, ctx.caller));
  if (!invitation) return NotFound("no invitation to this conversation");
  NATTER_TRY(bool banned, txn.IsBanned(id, ctx.caller));
  if (banned) return Forbidden("you are banned from this conversation by a moderator");
  NATTER_TRY(auto conversation, txn.FindConversation(id));
  if (!conversation) return NotFound("no invitation to this conversation");
  // Whoever invited must still be able to add with that role: an admin
  // removed or demoted since leaves invitations that no longer hold.
  NATTER_TRY(auto inviter, txn.FindMember(id, invitation->invited_by));
  if (!inviter || !CanAddMembers(conversation->kind, inviter->role) ||
      (invitation->role >= inviter->role && inviter->role != Role::kOwner)) {
    return Forbidden("this invitation no longer holds: who invited you may not add members now");
  }
  NATTER_TRY(int64_t new_count, CheckRoom(txn, limits, *conversation, 1));
  std::vector<Appended> events;
  NATTER_TRY(auto change, Admit(txn, ctx, limits, *conversation, {ctx.caller}, new_count, invitation->role,
                                invitation->invited_by, events));
  change.invitations_closed.clear();  // answered: the accept tells the user's devices itself
  return ViewAfter(txn, id, std::move(events), std::move(change));
}

Result<Invitation> DeclineInvitation(ConversationTxn& txn, const Context& ctx, ConversationId id) {
  NATTER_TRY(auto invitation, txn.FindInvitation(id, ctx.caller));
  if (!invitation) return NotFound("no invitation to this conversation");
  NATTER_RETURN_IF_ERROR(txn.DeleteInvitation(id, ctx.caller));
  NATTER_RETURN_IF_ERROR(txn.SetDeparted(id, ctx.caller, true, ctx.now_ms));
  return std::move(*invitation);
}

Result<ConversationView> RemoveMember(ConversationTxn& txn, const Context& ctx, const ChatLimits& limits,
                                      ConversationId id, UserId user) {
  NATTER_TRY(auto membership, RequireMember(txn, ctx.caller, id));
  auto& [conversation, me] = membership;
  bool leaving = user == ctx.caller;
  if (leaving) {
    if (!CanLeave(conversation.kind, me.role)) {
      return Forbidden(conversation.kind == ConversationKind::kDirect
                           ? "a direct conversation cannot be left"
                           : "the owner must hand ownership to someone else before leaving");
    }
  } else {
    NATTER_TRY(auto target, txn.FindMember(id, user));
    if (!target) return NotFound("that user is not a member");
    if (!CanRemoveMember(conversation.kind, me.role, target->role)) {
      return Forbidden("your role may not remove this member");
    }
  }
  NATTER_RETURN_IF_ERROR(txn.DeleteMember(id, user));
  // Who left chose to: being put back takes their consent again.
  if (leaving) NATTER_RETURN_IF_ERROR(txn.SetDeparted(id, user, true, ctx.now_ms));
  auto kind = leaving ? EventKind::kMemberLeft : EventKind::kMemberRemoved;
  NATTER_TRY(auto e, AppendEvent(txn, conversation, SystemEvent(kind, ctx.caller, user), ctx.now_ms, limits, user));
  std::vector<Appended> events;
  events.push_back(std::move(e));
  MemberChange change;
  change.removed.push_back(user);
  return ViewAfter(txn, id, std::move(events), std::move(change));
}

Result<std::optional<ConversationView>> ExpelMember(ConversationTxn& txn, const ChatLimits& limits, ConversationId id,
                                                    UserId user, int64_t now_ms, UserId moderator) {
  bool erased = moderator == 0;
  UserId by = erased ? user : moderator;
  NATTER_RETURN_IF_ERROR(txn.DeleteInvitation(id, user));
  NATTER_TRY(auto membership, txn.FindMembership(id, user));
  if (!membership || membership->first.kind == ConversationKind::kDirect) return std::optional<ConversationView>();
  auto& [conversation, member] = *membership;
  std::vector<Appended> events;
  MemberChange change;
  if (member.role == Role::kOwner) {
    NATTER_TRY(auto members, txn.ListMembers(id));
    std::erase_if(members, [user](const Member& m) { return m.user_id == user; });
    // Highest role first, then who joined first.
    std::sort(members.begin(), members.end(), [](const Member& a, const Member& b) {
      return std::tie(b.role, a.joined_at, a.user_id) < std::tie(a.role, b.joined_at, b.user_id);
    });
    const Member* heir = nullptr;
    for (const auto& m : members) {
      NATTER_TRY(auto candidate, txn.accounts().FindUser(m.user_id));
      if (candidate && candidate->erased_at == 0) {
        heir = &m;
        break;
      }
    }
    if (heir) {
      Member owner = *heir;
      owner.role = Role::kOwner;
      NATTER_RETURN_IF_ERROR(txn.UpdateRole(id, owner.user_id, Role::kOwner));
      NATTER_TRY(auto e, AppendEvent(txn, conversation,
                                     SystemEvent(EventKind::kRoleChanged, by, owner.user_id,
                                                 std::string(RoleName(Role::kOwner))),
                                     now_ms, limits));
      events.push_back(std::move(e));
      change.changed.push_back(owner);
    }
  }
  NATTER_RETURN_IF_ERROR(txn.DeleteMember(id, user));
  // Who is banned hears of it at their next sync (a log entry of their own);
  // an erased user never syncs again.
  NATTER_TRY(auto left, AppendEvent(txn, conversation,
                                    SystemEvent(erased ? EventKind::kMemberLeft : EventKind::kMemberRemoved, by, user),
                                    now_ms, limits, erased ? 0 : user));
  events.push_back(std::move(left));
  change.removed.push_back(user);
  NATTER_TRY(auto view, ViewAfter(txn, id, std::move(events), std::move(change)));
  return std::optional<ConversationView>(std::move(view));
}

Result<ConversationView> ChangeRole(ConversationTxn& txn, const Context& ctx, const ChatLimits& limits,
                                    ConversationId id, UserId user, Role role) {
  NATTER_TRY(auto membership, RequireMember(txn, ctx.caller, id));
  auto& [conversation, me] = membership;
  NATTER_TRY(auto target, txn.FindMember(id, user));
  if (!target) return NotFound("that user is not a member");
  if (!CanChangeRole(conversation.kind, me.role, target->role, role)) {
    return Forbidden("your role may not change this member's role");
  }
  std::vector<Appended> events;
  MemberChange change;
  NATTER_RETURN_IF_ERROR(txn.UpdateRole(id, user, role));
  target->role = role;
  change.changed.push_back(*target);
  NATTER_TRY(auto e, AppendEvent(txn, conversation,
                                 SystemEvent(EventKind::kRoleChanged, ctx.caller, user, std::string(RoleName(role))),
                                 ctx.now_ms, limits));
  events.push_back(std::move(e));
  // Handing ownership over: there stays exactly one owner.
  if (role == Role::kOwner) {
    NATTER_RETURN_IF_ERROR(txn.UpdateRole(id, ctx.caller, Role::kAdmin));
    NATTER_TRY(auto demoted, AppendEvent(txn, conversation,
                                         SystemEvent(EventKind::kRoleChanged, ctx.caller, ctx.caller,
                                                     std::string(RoleName(Role::kAdmin))),
                                         ctx.now_ms, limits));
    events.push_back(std::move(demoted));
    me.role = Role::kAdmin;
    change.changed.push_back(me);
  }
  return ViewAfter(txn, id, std::move(events), std::move(change));
}

Result<ConversationView> Rename(ConversationTxn& txn, const Context& ctx, const ChatLimits& limits, ConversationId id,
                                const std::string& title) {
  NATTER_TRY(auto membership, RequireMember(txn, ctx.caller, id));
  auto& [conversation, me] = membership;
  if (!CanRename(conversation.kind, me.role)) return Forbidden("your role may not rename this conversation");
  NATTER_RETURN_IF_ERROR(CheckTitle(limits, title));
  NATTER_RETURN_IF_ERROR(txn.UpdateTitle(id, title));
  std::vector<Appended> events;
  NATTER_TRY(auto e, AppendEvent(txn, conversation, SystemEvent(EventKind::kTitleChanged, ctx.caller, {}, title),
                                 ctx.now_ms, limits));
  events.push_back(std::move(e));
  return ViewAfter(txn, id, std::move(events));
}

Result<std::vector<ConversationSummary>> ListMyConversations(ConversationTxn& txn, const Context& ctx,
                                                             ListCursor before, const ChatLimits& limits, int limit) {
  if (limit <= 0 || limit > limits.max_conversation_list) limit = limits.max_conversation_list;
  return txn.ListConversations(ctx.caller, limit, before);
}

Result<std::vector<ConversationSummary>> MergeConversationLists(
    std::vector<Result<std::vector<ConversationSummary>>> parts, const ChatLimits& limits, int limit) {
  if (limit <= 0 || limit > limits.max_conversation_list) limit = limits.max_conversation_list;
  NATTER_TRY(auto all, JoinAnswered(std::move(parts)));
  std::sort(all.begin(), all.end(), [](const ConversationSummary& a, const ConversationSummary& b) {
    return std::tie(a.conversation.last_activity, a.conversation.id) >
           std::tie(b.conversation.last_activity, b.conversation.id);
  });
  if (all.size() > static_cast<size_t>(limit)) all.resize(limit);
  return all;
}

}  // namespace natter::chat
