// Which subjects this node listens on: a user subject for each online local
// user, and a conversation subject for each conversation at least one of them
// belongs to. Reference-counted, so two local members of one conversation
// share one subscription, and the last to leave drops it.
//
// Membership is only ever added while a user is online (from the lister's
// answer and from conversation events); a removal from a conversation keeps
// the reference until the user goes offline. That costs a few stray events,
// which the sink filters by recipient anyway, and spares the broker from
// reading membership out of frames it does not own.
//
// Not thread-safe: the broker guards it with its own mutex.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "natter/model.h"

namespace natter::nats {

// What a change of interest asks of the NATS connection.
struct InterestChange {
  std::vector<std::string> subscribe;
  std::vector<std::string> unsubscribe;
};

// What Join() did.
enum class Joined {
  kNothing,     // offline, already held, or an answer for another time online
  kHeld,        // the user holds it now; the node listened on it already
  kSubscribed,  // the user holds it now, and the node listens from now on
};

class InterestTable {
 public:
  // Counts a local start of `user`; the first subscribes their user subject.
  // Returns the generation of this time online, which a late membership
  // answer must present to Join().
  uint64_t UserOnline(UserId user, InterestChange& change);
  // Undoes one UserOnline(); the last drops every reference the user held.
  void UserOffline(UserId user, InterestChange& change);

  // Adds `user`'s reference to `conversation` (subscribing at the first).
  // Nothing when the user is offline, already holds it, or `generation` is
  // non-zero and not their current one (an answer meant for an earlier
  // time online).
  Joined Join(UserId user, ConversationId conversation, InterestChange& change, uint64_t generation = 0);

  bool IsOnline(UserId user) const { return users_.count(user) != 0; }
  bool Holds(UserId user, ConversationId conversation) const;
  // How many subjects are listened on (for tests and metrics).
  size_t SubjectCount() const { return users_.size() + conversation_refs_.size(); }

 private:
  struct UserState {
    int starts = 0;
    uint64_t generation = 0;
    std::unordered_set<ConversationId> conversations;
  };
  std::unordered_map<UserId, UserState> users_;
  std::unordered_map<ConversationId, int> conversation_refs_;
  uint64_t next_generation_ = 1;
};

}  // namespace natter::nats
