// What a writer's batch read while taking its locks (pg_store.cc, LockAhead):
// the rows its operations read most, kept so that reading them again costs no
// round trip to PostgreSQL. They stay true for the whole transaction because
// the batch holds the row locks that any change to them needs: a
// conversation's row (adding or removing a member updates it too, by
// trigger, and every other change of a member row is an operation of that
// conversation, which takes its lock first) and its members' update-log
// heads. Three kinds are not locked: a
// send's earlier message (none can appear without the conversation's lock),
// the message a send replies to (none changes without it either)
// and blocks between the two of a direct conversation, read as of the
// batch's start, as if it ran then. What the batch's own
// operations change is written through here, or forgets the view (Clear),
// after which every read goes to the database again.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "natter/model.h"

namespace natter::pg {

struct BatchView {
  std::unordered_map<ConversationId, Conversation> conversations;
  // Of the conversations above that are not large, every member, by user.
  std::unordered_map<ConversationId, std::vector<Member>> members;
  // The update-log head (pts) of each member of those conversations.
  std::unordered_map<UserId, int64_t> heads;
  // The sends of the batch looked up by conversation, sender and
  // client_msg_id: the earlier message, or none.
  std::map<std::tuple<ConversationId, UserId, std::string>, std::optional<Message>> sent;
  // The messages the batch's replies name, by conversation and seq: the
  // message, or none.
  std::map<std::pair<ConversationId, Seq>, std::optional<Message>> replied;
  // Between the two members of each direct conversation (`block_users`):
  // who blocked whom, and whose account was erased.
  std::set<std::pair<UserId, UserId>> blocks;
  std::set<UserId> erased;
  std::set<UserId> block_users;

  void Clear() {
    conversations.clear();
    members.clear();
    heads.clear();
    ForgetMessages();
    blocks.clear();
    erased.clear();
    block_users.clear();
  }
  // After a change to messages that is not written through.
  void ForgetMessages() {
    sent.clear();
    replied.clear();
  }
  const Conversation* FindConversation(ConversationId id) const {
    auto it = conversations.find(id);
    return it == conversations.end() ? nullptr : &it->second;
  }
  // Null when the members of `c` were not read ahead.
  std::vector<Member>* MembersOf(ConversationId c) {
    auto it = members.find(c);
    return it == members.end() ? nullptr : &it->second;
  }
};

}  // namespace natter::pg
