// The member ids of small conversations, each as of a version of its
// membership (MembersVersion: conversations.members_version, counted up by
// every member added or removed). Presence reads a user's conversations with
// their versions and takes the ids from here when the version still matches,
// so a reconnect storm reads each group's members once instead of once per
// member coming online. A version is stored, never sent anywhere: every node
// of a cluster keeps its own lists and checks them against the database.
//
// Bounded by the ids it holds: past `max_ids` it forgets every list and
// starts over (a miss costs one read, as before).
//
// Thread-safety: any thread (one mutex); the store's reader threads share it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "common/mutex.h"
#include "natter/model.h"

namespace natter::presence {

class MemberLists {
 public:
  using Ids = std::shared_ptr<const std::vector<UserId>>;

  explicit MemberLists(size_t max_ids = size_t{1} << 20) : max_ids_(max_ids) {}

  // The ids of `conversation` as of `version`, or null when not kept.
  Ids Find(ConversationId conversation, int64_t version) const;
  // Keeps `ids` read at `version`, unless a later version is kept already
  // (two readers may finish in either order).
  void Keep(ConversationId conversation, int64_t version, Ids ids);

  size_t ids() const;

 private:
  struct List {
    int64_t version = 0;
    Ids ids;
  };

  const size_t max_ids_;
  mutable Mutex mu_;
  std::unordered_map<ConversationId, List> lists_ GUARDED_BY(mu_);
  size_t ids_ GUARDED_BY(mu_) = 0;
};

}  // namespace natter::presence
