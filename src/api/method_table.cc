#include "api/method_table.h"

#include <algorithm>

namespace natter::api {
namespace {

// Reads the params of type P once, then runs handler H.
template <class P, void (Dispatcher::*H)(const Caller&, P, Reply)>
void Invoke(Dispatcher& d, const Caller& c, const boost::json::object& o, Reply reply) {
  auto params = P::Parse(o);
  if (!params.ok()) return reply(params.take_error());
  (d.*H)(c, std::move(*params), std::move(reply));
}

constexpr auto kPublic = Access::kPublic;
constexpr auto kUser = Access::kAuthenticated;
constexpr auto kRequest = RateClass::kRequest;

const std::vector<Method>& Table() {
  using D = Dispatcher;
  static const std::vector<Method> table = {
      {"auth.register", kPublic, kRequest, OnSocket::kAnswer, {{"POST", "/v1/auth/register"}},
       Invoke<RegisterParams, &D::Register>},
      {"auth.login", kPublic, kRequest, OnSocket::kAnswer, {{"POST", "/v1/auth/login"}},
       Invoke<LoginParams, &D::Login>},
      {"auth.refresh", kPublic, kRequest, OnSocket::kAnswer, {{"POST", "/v1/auth/refresh"}},
       Invoke<RefreshParams, &D::Refresh>},
      {"auth.logout", kUser, kRequest, OnSocket::kAnswer, {{"POST", "/v1/auth/logout"}},
       Invoke<NoParams, &D::Logout>},
      {"users.get", kUser, kRequest, OnSocket::kAnswer, {{"GET", "/v1/users/{handle or user_id}"}},
       Invoke<UserLookupParams, &D::GetUser>},
      {"conversations.list", kUser, kRequest, OnSocket::kAnswer, {{"GET", "/v1/conversations"}},
       Invoke<ListConversationsParams, &D::ListConversations>},
      {"conversations.create", kUser, kRequest, OnSocket::kAnswer, {{"POST", "/v1/conversations"}},
       Invoke<CreateConversationParams, &D::CreateConversation>},
      {"conversations.get", kUser, kRequest, OnSocket::kAnswer, {{"GET", "/v1/conversations/{id}"}},
       Invoke<ConversationParams, &D::GetConversation>},
      {"conversations.rename", kUser, kRequest, OnSocket::kAnswer, {{"PATCH", "/v1/conversations/{id}"}},
       Invoke<RenameParams, &D::Rename>},
      {"messages.history", kUser, kRequest, OnSocket::kAnswer, {{"GET", "/v1/conversations/{id}/messages"}},
       Invoke<HistoryParams, &D::History>},
      {"messages.send", kUser, kRequest, OnSocket::kAnswer, {{"POST", "/v1/conversations/{id}/messages"}},
       Invoke<SendParams, &D::SendMessage>},
      {"messages.edit", kUser, kRequest, OnSocket::kAnswer, {{"PATCH", "/v1/conversations/{id}/messages/{seq}"}},
       Invoke<EditParams, &D::Edit>},
      {"messages.delete", kUser, kRequest, OnSocket::kAnswer, {{"DELETE", "/v1/conversations/{id}/messages/{seq}"}},
       Invoke<MessageParams, &D::Delete>},
      {"messages.react", kUser, kRequest, OnSocket::kAnswer,
       {{"PUT", "/v1/conversations/{id}/messages/{seq}/reactions"},
        {"DELETE", "/v1/conversations/{id}/messages/{seq}/reactions", R"({"emoji":""})"}},
       Invoke<ReactParams, &D::React>},
      {"messages.delivered", kUser, kRequest, OnSocket::kAnswer, {{"POST", "/v1/conversations/{id}/delivered"}},
       Invoke<MessageParams, &D::MarkDelivered>},
      {"messages.read", kUser, kRequest, OnSocket::kAnswer, {{"POST", "/v1/conversations/{id}/read"}},
       Invoke<MessageParams, &D::MarkRead>},
      {"receipts.get", kUser, kRequest, OnSocket::kAnswer, {{"GET", "/v1/conversations/{id}/receipts"}},
       Invoke<MessageParams, &D::CountReceipts>},
      {"typing", kUser, RateClass::kTyping, OnSocket::kAnswer, {{"POST", "/v1/conversations/{id}/typing"}},
       Invoke<ConversationParams, &D::Typing>},
      {"members.add", kUser, kRequest, OnSocket::kAnswer, {{"POST", "/v1/conversations/{id}/members"}},
       Invoke<AddMembersParams, &D::AddMembers>},
      {"members.set_role", kUser, kRequest, OnSocket::kAnswer,
       {{"PATCH", "/v1/conversations/{id}/members/{user_id}"}}, Invoke<SetRoleParams, &D::SetRole>},
      {"members.remove", kUser, kRequest, OnSocket::kAnswer,
       {{"DELETE", "/v1/conversations/{id}/members/{user_id}"}}, Invoke<RemoveMemberParams, &D::RemoveMember>},
      {"members.leave", kUser, kRequest, OnSocket::kAnswer, {}, Invoke<ConversationParams, &D::Leave>},
      {"sync", kUser, kRequest, OnSocket::kHoldEvents, {{"GET", "/v1/sync"}}, Invoke<SyncParams, &D::Sync>},
      {"presence.get", kUser, kRequest, OnSocket::kAnswer, {{"POST", "/v1/presence/query"}},
       Invoke<PresenceQueryParams, &D::GetPresence>},
      {"presence.set", kUser, kRequest, OnSocket::kAnswer, {{"PUT", "/v1/me/presence"}},
       Invoke<SetPresenceParams, &D::SetPresence>},
      // WebSocket only, served before or beside the rest (docs/protocol.md section 6).
      {"auth", kPublic, kRequest, OnSocket::kAuthenticate, {}, nullptr},
      {"ping", kPublic, kRequest, OnSocket::kAnswer, {}, Invoke<NoParams, &D::Ping>},
  };
  return table;
}

}  // namespace

std::span<const Method> Methods() { return Table(); }

const Method* FindMethod(std::string_view name) {
  const auto& table = Table();
  auto it = std::find_if(table.begin(), table.end(), [name](const Method& m) { return m.name == name; });
  return it == table.end() ? nullptr : &*it;
}

}  // namespace natter::api
