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

template <class P>
Status ReadParams(const boost::json::object& o) {
  auto params = P::Parse(o);
  if (!params.ok()) return params.take_error();
  return OkStatus();
}

// A row whose params are a P, handled by H.
template <class P, void (Dispatcher::*H)(const Caller&, P, Reply)>
Method Row(std::string_view name, Access access, RateClass rate, OnSocket on_socket, std::vector<HttpRoute> routes) {
  return Method{name, access, rate, on_socket, std::move(routes), Invoke<P, H>, ReadParams<P>};
}

constexpr auto kPublic = Access::kPublic;
constexpr auto kUser = Access::kAuthenticated;
constexpr auto kModerator = Access::kModerator;
constexpr auto kAdmin = Access::kAdmin;
constexpr auto kRequest = RateClass::kRequest;
constexpr auto kAnswer = OnSocket::kAnswer;

const std::vector<Method>& Table() {
  using D = Dispatcher;
  static const std::vector<Method> table = {
      Row<RegisterParams, &D::Register>("auth.register", kPublic, kRequest, kAnswer, {{"POST", "/v1/auth/register"}}),
      Row<LoginParams, &D::Login>("auth.login", kPublic, kRequest, kAnswer, {{"POST", "/v1/auth/login"}}),
      Row<ExternalLoginParams, &D::ExternalLogin>("auth.external", kPublic, kRequest, kAnswer,
                                                  {{"POST", "/v1/auth/external"}}),
      Row<BotLoginParams, &D::BotLogin>("auth.bot", kPublic, kRequest, kAnswer, {{"POST", "/v1/auth/bot"}}),
      Row<RefreshParams, &D::Refresh>("auth.refresh", kPublic, kRequest, kAnswer, {{"POST", "/v1/auth/refresh"}}),
      Row<NoParams, &D::Logout>("auth.logout", kUser, kRequest, kAnswer, {{"POST", "/v1/auth/logout"}}),
      Row<UserLookupParams, &D::GetUser>("users.get", kUser, kRequest, kAnswer,
                                         {{"GET", "/v1/users/{handle or user_id}"}}),
      Row<ListConversationsParams, &D::ListConversations>("conversations.list", kUser, kRequest, kAnswer,
                                                          {{"GET", "/v1/conversations"}}),
      Row<CreateConversationParams, &D::CreateConversation>("conversations.create", kUser, kRequest, kAnswer,
                                                            {{"POST", "/v1/conversations"}}),
      Row<ConversationParams, &D::GetConversation>("conversations.get", kUser, kRequest, kAnswer,
                                                   {{"GET", "/v1/conversations/{id}"}}),
      Row<RenameParams, &D::Rename>("conversations.rename", kUser, kRequest, kAnswer,
                                    {{"PATCH", "/v1/conversations/{id}"}}),
      Row<HistoryParams, &D::History>("messages.history", kUser, kRequest, kAnswer,
                                      {{"GET", "/v1/conversations/{id}/messages"}}),
      Row<SendParams, &D::SendMessage>("messages.send", kUser, kRequest, kAnswer,
                                       {{"POST", "/v1/conversations/{id}/messages"}}),
      Row<EditParams, &D::Edit>("messages.edit", kUser, kRequest, kAnswer,
                                {{"PATCH", "/v1/conversations/{id}/messages/{seq}"}}),
      Row<MessageParams, &D::Delete>("messages.delete", kUser, kRequest, kAnswer,
                                     {{"DELETE", "/v1/conversations/{id}/messages/{seq}"}}),
      Row<ReactParams, &D::React>("messages.react", kUser, kRequest, kAnswer,
                                  {{"PUT", "/v1/conversations/{id}/messages/{seq}/reactions"},
                                   {"DELETE", "/v1/conversations/{id}/messages/{seq}/reactions", R"({"emoji":""})"}}),
      Row<MessageParams, &D::MarkDelivered>("messages.delivered", kUser, kRequest, kAnswer,
                                            {{"POST", "/v1/conversations/{id}/delivered"}}),
      Row<MessageParams, &D::MarkRead>("messages.read", kUser, kRequest, kAnswer,
                                       {{"POST", "/v1/conversations/{id}/read"}}),
      Row<MessageParams, &D::CountReceipts>("receipts.get", kUser, kRequest, kAnswer,
                                            {{"GET", "/v1/conversations/{id}/receipts"}}),
      Row<ConversationParams, &D::Typing>("typing", kUser, RateClass::kTyping, kAnswer,
                                          {{"POST", "/v1/conversations/{id}/typing"}}),
      Row<AddMembersParams, &D::AddMembers>("members.add", kUser, kRequest, kAnswer,
                                            {{"POST", "/v1/conversations/{id}/members"}}),
      Row<SetRoleParams, &D::SetRole>("members.set_role", kUser, kRequest, kAnswer,
                                      {{"PATCH", "/v1/conversations/{id}/members/{user_id}"}}),
      Row<RemoveMemberParams, &D::RemoveMember>("members.remove", kUser, kRequest, kAnswer,
                                                {{"DELETE", "/v1/conversations/{id}/members/{user_id}"}}),
      Row<ConversationParams, &D::Leave>("members.leave", kUser, kRequest, kAnswer, {}),
      Row<SyncParams, &D::Sync>("sync", kUser, kRequest, OnSocket::kHoldEvents, {{"GET", "/v1/sync"}}),
      Row<PresenceQueryParams, &D::GetPresence>("presence.get", kUser, kRequest, kAnswer,
                                                {{"POST", "/v1/presence/query"}}),
      Row<SetPresenceParams, &D::SetPresence>("presence.set", kUser, kRequest, kAnswer, {{"PUT", "/v1/me/presence"}}),
      Row<BlockParams, &D::Block>("users.block", kUser, kRequest, kAnswer,
                                  {{"PUT", "/v1/me/blocks/{user_id}", R"({"blocked":true})"},
                                   {"DELETE", "/v1/me/blocks/{user_id}", R"({"blocked":false})"}}),
      Row<NoParams, &D::ListBlocks>("users.blocks", kUser, kRequest, kAnswer, {{"GET", "/v1/me/blocks"}}),
      Row<PublishKeysParams, &D::PublishKeys>("keys.publish", kUser, kRequest, kAnswer, {{"PUT", "/v1/me/keys"}}),
      Row<NoParams, &D::CountKeys>("keys.count", kUser, kRequest, kAnswer, {{"GET", "/v1/me/keys"}}),
      Row<NoParams, &D::RemoveKeys>("keys.remove", kUser, kRequest, kAnswer, {{"DELETE", "/v1/me/keys"}}),
      Row<KeyBundleParams, &D::ClaimKeyBundles>("keys.bundle", kUser, kRequest, kAnswer,
                                                {{"POST", "/v1/users/{handle or user_id}/keys/claim"}}),
      Row<KeyBundleParams, &D::AskSessionReset>("keys.reset", kUser, kRequest, kAnswer,
                                                {{"POST", "/v1/users/{handle or user_id}/keys/reset"}}),
      Row<UserLookupParams, &D::ListKeyDevices>("devices.list", kUser, kRequest, kAnswer,
                                                {{"GET", "/v1/users/{handle or user_id}/devices"}}),
      Row<ReportParams, &D::FileReport>("reports.create", kUser, kRequest, kAnswer, {{"POST", "/v1/reports"}}),
      Row<NoParams, &D::ListInvitations>("invitations.list", kUser, kRequest, kAnswer, {{"GET", "/v1/me/invitations"}}),
      Row<ConversationParams, &D::AcceptInvitation>("invitations.accept", kUser, kRequest, kAnswer,
                                                    {{"POST", "/v1/me/invitations/{id}/accept"}}),
      Row<ConversationParams, &D::DeclineInvitation>("invitations.decline", kUser, kRequest, kAnswer,
                                                     {{"POST", "/v1/me/invitations/{id}/decline"}}),
      Row<NoParams, &D::GetPrivacy>("privacy.get", kUser, kRequest, kAnswer, {{"GET", "/v1/me/privacy"}}),
      Row<PrivacyParams, &D::SetPrivacy>("privacy.set", kUser, kRequest, kAnswer, {{"PUT", "/v1/me/privacy"}}),
      Row<ProfileParams, &D::SetProfile>("profile.set", kUser, kRequest, kAnswer, {{"PATCH", "/v1/me/profile"}}),
      Row<AvatarParams, &D::AvatarUrl>("users.avatar", kUser, kRequest, kAnswer,
                                       {{"GET", "/v1/users/{handle or user_id}/avatar"}}),
      Row<PushDeviceParams, &D::RegisterPushDevice>("push.register", kUser, kRequest, kAnswer,
                                                    {{"PUT", "/v1/me/push-device"}}),
      Row<NoParams, &D::UnregisterPushDevice>("push.unregister", kUser, kRequest, kAnswer,
                                              {{"DELETE", "/v1/me/push-device"}}),
      Row<NoParams, &D::GetPushSettings>("push.get", kUser, kRequest, kAnswer, {{"GET", "/v1/me/push"}}),
      Row<PushSettingsParams, &D::SetPushSettings>("push.set", kUser, kRequest, kAnswer, {{"PUT", "/v1/me/push"}}),
      Row<MuteParams, &D::Mute>("conversations.mute", kUser, kRequest, kAnswer,
                                {{"PUT", "/v1/conversations/{id}/mute"}}),
      Row<ConversationParams, &D::Unmute>("conversations.unmute", kUser, kRequest, kAnswer,
                                          {{"DELETE", "/v1/conversations/{id}/mute"}}),
      Row<AppStateParams, &D::SetAppState>("app.state", kUser, kRequest, kAnswer, {}),
      Row<UploadParams, &D::GetUpload>("media.get", kUser, kRequest, kAnswer, {{"GET", "/v1/uploads/{media_id}"}}),
      Row<CreateUploadParams, &D::CreateUpload>("media.create", kUser, kRequest, kAnswer,
                                                {{"POST", "/v1/media/uploads"}}),
      Row<UploadParams, &D::UploadParts>("media.parts", kUser, kRequest, kAnswer,
                                         {{"GET", "/v1/media/uploads/{media_id}/parts"}}),
      Row<CompleteUploadParams, &D::CompleteUpload>("media.complete", kUser, kRequest, kAnswer,
                                                    {{"POST", "/v1/media/uploads/{media_id}/complete"}}),
      Row<MediaUrlParams, &D::MediaUrl>("media.url", kUser, kRequest, kAnswer,
                                        {{"GET", "/v1/conversations/{id}/messages/{seq}/media/{media_id}"}}),
      // Operators, over HTTP only (docs/admin.md).
      Row<AdminUsersParams, &D::AdminListUsers>("admin.users.list", kModerator, kRequest, kAnswer,
                                                {{"GET", "/admin/v1/users"}}),
      Row<UserIdParams, &D::AdminGetUser>("admin.users.get", kModerator, kRequest, kAnswer,
                                          {{"GET", "/admin/v1/users/{user_id}"}}),
      Row<SuspendParams, &D::AdminSuspend>("admin.users.suspend", kAdmin, kRequest, kAnswer,
                                           {{"POST", "/admin/v1/users/{user_id}/suspend", R"({"suspended":true})"},
                                            {"DELETE", "/admin/v1/users/{user_id}/suspend", R"({"suspended":false})"}}),
      Row<UserIdParams, &D::AdminRevokeSessions>("admin.users.revoke_sessions", kAdmin, kRequest, kAnswer,
                                                 {{"POST", "/admin/v1/users/{user_id}/revoke-sessions"}}),
      Row<PasswordResetParams, &D::AdminResetPassword>("admin.users.reset_password", kAdmin, kRequest, kAnswer,
                                                       {{"PUT", "/admin/v1/users/{user_id}/password"}}),
      Row<ServerRoleParams, &D::AdminSetRole>("admin.users.set_role", kAdmin, kRequest, kAnswer,
                                              {{"PUT", "/admin/v1/users/{user_id}/role"}}),
      Row<UserIdParams, &D::AdminExportUser>("admin.users.export", kAdmin, kRequest, kAnswer,
                                             {{"GET", "/admin/v1/users/{user_id}/export"}}),
      Row<ExportMessagesParams, &D::AdminExportMessages>("admin.users.export_messages", kAdmin, kRequest, kAnswer,
                                                         {{"GET", "/admin/v1/users/{user_id}/export/messages"}}),
      Row<UserIdParams, &D::AdminEraseUser>("admin.users.erase", kAdmin, kRequest, kAnswer,
                                            {{"DELETE", "/admin/v1/users/{user_id}"}}),
      Row<MessageParams, &D::AdminDeleteMessage>("admin.messages.delete", kModerator, kRequest, kAnswer,
                                                 {{"DELETE", "/admin/v1/conversations/{id}/messages/{seq}"}}),
      Row<ConversationBanParams, &D::AdminBan>(
          "admin.conversations.ban", kModerator, kRequest, kAnswer,
          {{"PUT", "/admin/v1/conversations/{id}/bans/{user_id}", R"({"banned":true})"},
           {"DELETE", "/admin/v1/conversations/{id}/bans/{user_id}", R"({"banned":false})"}}),
      Row<ConversationParams, &D::AdminListBans>("admin.conversations.bans", kModerator, kRequest, kAnswer,
                                                 {{"GET", "/admin/v1/conversations/{id}/bans"}}),
      Row<ConversationMuteParams, &D::AdminMute>(
          "admin.conversations.mute", kModerator, kRequest, kAnswer,
          {{"PUT", "/admin/v1/conversations/{id}/mutes/{user_id}", R"({"muted":true})"},
           {"DELETE", "/admin/v1/conversations/{id}/mutes/{user_id}", R"({"muted":false})"}}),
      Row<ReportsParams, &D::AdminListReports>("admin.reports.list", kModerator, kRequest, kAnswer,
                                               {{"GET", "/admin/v1/reports"}}),
      Row<ResolveReportParams, &D::AdminResolveReport>("admin.reports.resolve", kModerator, kRequest, kAnswer,
                                                       {{"POST", "/admin/v1/reports/{report_id}/resolve"}}),
      Row<CreateUserParams, &D::AdminCreateUser>("admin.users.create", kAdmin, kRequest, kAnswer,
                                                 {{"POST", "/admin/v1/users"}}),
      Row<CreateBotParams, &D::AdminCreateBot>("admin.bots.create", kAdmin, kRequest, kAnswer,
                                               {{"POST", "/admin/v1/bots"}}),
      Row<UserIdParams, &D::AdminRotateBotToken>("admin.bots.rotate_token", kAdmin, kRequest, kAnswer,
                                                 {{"POST", "/admin/v1/bots/{user_id}/token"}}),
      Row<CreateInviteParams, &D::AdminCreateInvite>("admin.invites.create", kAdmin, kRequest, kAnswer,
                                                     {{"POST", "/admin/v1/invite-codes"}}),
      Row<NoParams, &D::AdminListInvites>("admin.invites.list", kAdmin, kRequest, kAnswer,
                                          {{"GET", "/admin/v1/invite-codes"}}),
      Row<InviteIdParams, &D::AdminDeleteInvite>("admin.invites.delete", kAdmin, kRequest, kAnswer,
                                                 {{"DELETE", "/admin/v1/invite-codes/{invite_id}"}}),
      Row<AuditParams, &D::AdminAudit>("admin.audit", kAdmin, kRequest, kAnswer, {{"GET", "/admin/v1/audit"}}),
      // WebSocket only, served before or beside the rest (docs/protocol.md section 6).
      Method{"auth", kPublic, kRequest, OnSocket::kAuthenticate, {}},
      Row<NoParams, &D::Ping>("ping", kPublic, kRequest, kAnswer, {}),
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
