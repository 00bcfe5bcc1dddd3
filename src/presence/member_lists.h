// The member ids of small conversations, each as of a version of its member
// list (MembersVersion: conversations.members_version, changed by a trigger
// whenever a member is added or removed). Presence reads its users'
// conversations with their versions and takes the ids from here when the
// version still matches, so a reconnect storm reads each group's members once
// instead of once per member coming online. Nothing is sent between nodes:
// every node keeps its own lists and checks them against the database.
//
// Bounded by an estimate of its memory (each list's ids plus its overhead):
// past `max_bytes` it forgets every list and starts over (a miss costs a
// read, as before it was kept).
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

  explicit MemberLists(size_t max_bytes = size_t{16} << 20) : max_bytes_(max_bytes) {}

  // The ids of `conversation` as of `version`, or null when not kept.
  Ids Find(ConversationId conversation, int64_t version) const;
  // Keeps `ids` read at `version`, unless a later version is kept already
  // (two readers may finish in either order).
  void Keep(ConversationId conversation, int64_t version, Ids ids);

  size_t bytes() const;
  // Lists kept since start: how many were read.
  uint64_t kept() const;

 private:
  struct List {
    int64_t version = 0;
    Ids ids;
  };
  // What a list holds: its ids, and about as much again as its map node,
  // control block and vector take.
  static size_t BytesOf(const std::vector<UserId>& ids) { return 128 + ids.size() * sizeof(UserId); }

  const size_t max_bytes_;
  mutable Mutex mu_;
  std::unordered_map<ConversationId, List> lists_ GUARDED_BY(mu_);
  size_t bytes_ GUARDED_BY(mu_) = 0;
  uint64_t kept_ GUARDED_BY(mu_) = 0;
};

}  // namespace natter::presence
