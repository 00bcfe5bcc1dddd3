#include "broker/nats/interest_table.h"

#include "broker/nats/subjects.h"

namespace natter::nats {

uint64_t InterestTable::UserOnline(UserId user, InterestChange& change) {
  UserState& state = users_[user];
  if (state.starts++ == 0) {
    state.generation = next_generation_++;
    change.subscribe.push_back(UserSubject(user));
  }
  return state.generation;
}

void InterestTable::UserOffline(UserId user, InterestChange& change) {
  auto it = users_.find(user);
  if (it == users_.end() || --it->second.starts > 0) return;
  for (ConversationId c : it->second.conversations) {
    auto ref = conversation_refs_.find(c);
    if (ref == conversation_refs_.end() || --ref->second > 0) continue;
    conversation_refs_.erase(ref);
    change.unsubscribe.push_back(ConversationSubject(c));
  }
  change.unsubscribe.push_back(UserSubject(user));
  users_.erase(it);
}

Joined InterestTable::Join(UserId user, ConversationId conversation, InterestChange& change, uint64_t generation) {
  auto it = users_.find(user);
  if (it == users_.end() || conversation == 0) return Joined::kNothing;
  if (generation != 0 && it->second.generation != generation) return Joined::kNothing;
  if (!it->second.conversations.insert(conversation).second) return Joined::kNothing;
  if (conversation_refs_[conversation]++ != 0) return Joined::kHeld;
  change.subscribe.push_back(ConversationSubject(conversation));
  return Joined::kSubscribed;
}

bool InterestTable::Holds(UserId user, ConversationId conversation) const {
  auto it = users_.find(user);
  return it != users_.end() && it->second.conversations.count(conversation) != 0;
}

}  // namespace natter::nats
