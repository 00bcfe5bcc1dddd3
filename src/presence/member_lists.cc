#include "presence/member_lists.h"

namespace natter::presence {

MemberLists::Ids MemberLists::Find(ConversationId conversation, int64_t version) const {
  MutexLock lock(mu_);
  auto it = lists_.find(conversation);
  if (it == lists_.end() || it->second.version != version) return nullptr;
  return it->second.ids;
}

void MemberLists::Keep(ConversationId conversation, int64_t version, Ids ids) {
  if (!ids) return;
  const size_t bytes = BytesOf(*ids);
  std::unordered_map<ConversationId, List> forgotten;  // freed after the lock is let go
  {
    MutexLock lock(mu_);
    ++kept_;
    auto it = lists_.find(conversation);
    if (it != lists_.end()) {
      if (it->second.version > version) return;
      bytes_ -= BytesOf(*it->second.ids);
      lists_.erase(it);
    }
    if (bytes > max_bytes_) return;
    if (bytes_ + bytes > max_bytes_) {
      forgotten.swap(lists_);
      bytes_ = 0;
    }
    bytes_ += bytes;
    lists_.emplace(conversation, List{version, std::move(ids)});
  }
}

size_t MemberLists::bytes() const {
  MutexLock lock(mu_);
  return bytes_;
}

uint64_t MemberLists::kept() const {
  MutexLock lock(mu_);
  return kept_;
}

}  // namespace natter::presence
