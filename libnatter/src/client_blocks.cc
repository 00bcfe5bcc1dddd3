// ClientCore: users this user blocked. The list is the server's (users.blocks),
// kept in the local store so it holds offline (and in memory, as every entry
// is checked against it), fetched again after every sync: another device may
// have changed it. The server stops what a block stops (direct messages,
// additions, typing, presence, push); what it cannot stop, a blocked user's
// messages in a group someone else shares with them, this client flags
// (`blocked_sender`) for the app to hide.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "client_core.h"
#include "common/json_lookup.h"

namespace natter::client {

namespace json = boost::json;
using json_lookup::Int;

namespace {

constexpr const char* kBlockedKey = "blocked";

}  // namespace

json::array ClientCore::BlockedList() {
  auto text = store_->Get(kBlockedKey);
  if (!text) return {};
  boost::system::error_code ec;
  auto v = json::parse(*text, ec);
  return !ec && v.is_array() ? v.as_array() : json::array();
}

void ClientCore::LoadBlocked() {
  blocked_.clear();
  for (const auto& b : BlockedList()) {
    if (b.is_object()) blocked_.insert(Int(b.as_object(), "user_id"));
  }
}

void ClientCore::StoreBlocked(const json::array& list) {
  auto before = blocked_;
  store_->Put(kBlockedKey, json::serialize(list));
  LoadBlocked();
  // Entries already shown may need another look.
  if (blocked_ != before) Emit({{"@type", "blocked_users"}, {"blocked", list}});
}

void ClientCore::FlagBlocked(Json& entry) const {
  // By the list as it is now: the server's flag on a stored entry may be
  // older than an unblock.
  entry.erase("blocked_sender");
  bool message = json_lookup::Str(entry, "kind") == "message";
  if (message && blocked_.contains(Int(entry, "sender_id"))) entry["blocked_sender"] = true;
}

json::array ClientCore::FlagBlocked(json::array entries) const {
  for (auto& e : entries) {
    if (e.is_object()) FlagBlocked(e.as_object());
  }
  return entries;
}

void ClientCore::RefreshBlocks() {
  Call({{"type", "users.blocks"}}, [this](const ReplyFrame& reply) {
    const auto* data = reply.ok ? reply.data.if_object() : nullptr;
    const auto* list = data ? data->if_contains("blocked") : nullptr;
    if (!list || !list->is_array()) return;  // kept as it was; the next sync asks again
    StoreBlocked(list->as_array());
  });
}

void ClientCore::BlockUser(const Json& req, bool blocked) {
  if (!ready_) return Fail(req, "unavailable", "offline; try again when connected");
  int64_t whom = Int(req, "user_id");
  Call({{"type", "users.block"}, {"user_id", whom}, {"blocked", blocked}},
       [this, req, whom, blocked](const ReplyFrame& reply) {
         if (!reply.ok) return Fail(req, reply.code, reply.message);
         // Kept here at once (its handle and time come with the refresh).
         json::array list;
         for (auto& b : BlockedList()) {
           if (!b.is_object() || Int(b.as_object(), "user_id") != whom) list.push_back(std::move(b));
         }
         if (blocked) list.insert(list.begin(), Json{{"user_id", whom}});
         StoreBlocked(list);
         RefreshBlocks();
         Answer(req, {{"user_id", whom}, {"blocked", blocked}});
       });
}

}  // namespace natter::client
