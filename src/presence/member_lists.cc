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
  MutexLock lock(mu_);
  auto [it, added] = lists_.try_emplace(conversation);
  List& list = it->second;
  if (!added) {
    if (list.version > version) return;
    ids_ -= list.ids->size();
  }
  if (ids_ + ids->size() > max_ids_) {
    lists_.clear();
    ids_ = 0;
    if (ids->size() > max_ids_) return;
    it = lists_.try_emplace(conversation).first;
  }
  ids_ += ids->size();
  it->second = List{version, std::move(ids)};
}

size_t MemberLists::ids() const {
  MutexLock lock(mu_);
  return ids_;
}

}  // namespace natter::presence
