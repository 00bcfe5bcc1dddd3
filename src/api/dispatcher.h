// The handlers of the API methods (api/method_table.h names them): typed
// params in, a JSON result or a typed Error out. They run the use cases on the
// store and hashing threads and publish the events they cause; they never
// touch a socket.
//
// Thread-safety: Call() and the handlers may be called from any thread;
// `reply` is called exactly once: on the caller's executor (store results),
// inline (early errors), or on a hashing thread or whichever thread publishes
// in commit order, so callers not already on their own thread post it there.
#pragma once

#include <atomic>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "accounts/account_service.h"
#include "api/key_params.h"
#include "api/operators.h"
#include "api/params.h"
#include "auth/external_token.h"
#include "auth/key_ring.h"
#include "broker/broker.h"
#include "chat/conversations.h"
#include "chat/limits.h"
#include "common/id_generator.h"
#include "common/reloadable.h"
#include "common/request_id.h"
#include "common/token_bucket.h"
#include "natter/clock.h"
#include "ops/metrics.h"
#include "push/push_triggers.h"
#include "store/store.h"

namespace natter::presence {
class PresenceService;
}
namespace natter::push {
class DeviceLiveness;
}
namespace natter::media {
class MediaService;
}
namespace natter::hooks {
class PresendHook;
struct PresendCall;
}  // namespace natter::hooks

namespace natter::api {

struct Method;

struct Caller {
  UserId user = 0;  // 0 before authentication
  SessionId session = 0;
  uint64_t connection = 0;  // the WebSocket connection, 0 for HTTP
  std::string address;      // the client's address, for login throttling
  // Where the answer and whatever the handler does with store results run:
  // the connection's worker. Required.
  Executor* executor = nullptr;
  // An operator's role, read before an operator's method runs (none otherwise).
  ServerRole role = ServerRole::kNone;
  // Ties the request's log lines together (ops/request_id.h); empty: none.
  RequestId request_id;
};

using Reply = std::function<void(Result<boost::json::value>)>;

// Whom a request names, for its log line: the handle of a login, the user an
// operator acts on. Never a token or a password.
struct RequestSubject {
  std::string handle;
  int64_t user = 0;
  bool lifts = false;  // `suspended: false`: a suspension lifted, no session ended
  static RequestSubject Of(const boost::json::object& params);
};

// A catch-up, typed for the WebSocket, which writes each changed conversation
// as a frame of its own before the answer.
struct CatchUpAnswer {
  boost::json::array conversations;  // one entry per changed conversation
  // resync_required, conversations (a placeholder the sender fills: the
  // entries over HTTP, their count on the WebSocket), pts, token.
  boost::json::object answer;
  // Each conversation's last seq in the snapshot: a live event at or below it
  // is a copy of what the catch-up already holds.
  std::vector<std::pair<ConversationId, Seq>> covered;
};

// One request's limits: a snapshot that a reload does not change under it.
// Converts to the `const ChatLimits&` the chat functions take.
class LimitsSnapshot {
 public:
  explicit LimitsSnapshot(std::shared_ptr<const chat::ChatLimits> limits) : limits_(std::move(limits)) {}
  operator const chat::ChatLimits&() const { return *limits_; }  // NOLINT(google-explicit-constructor)
  const chat::ChatLimits* operator->() const { return limits_.get(); }
  const chat::ChatLimits& operator*() const { return *limits_; }

 private:
  std::shared_ptr<const chat::ChatLimits> limits_;
};

struct DispatcherDeps {
  Store& store;
  Broker& broker;
  accounts::AccountService& accounts;
  IdGenerator& ids;
  const Clock& clock;
  const chat::ChatLimits& limits;  // at start; SetLimits() replaces them
  ops::Metrics& metrics;
  const auth::KeyRing& keys;                      // signs sync tokens
  presence::PresenceService* presence = nullptr;  // online state, for presence.get
  push::PushTiming push_timing{};                 // whether messages queue pushes, and when
  push::DeviceLiveness* liveness = nullptr;       // app.state; null when push is off
  media::MediaService* media = nullptr;           // uploads and downloads; null: media.* unavailable
  OperatorRoles operators = {};                   // server roles the configuration gives
  // The operator's own token issuer (auth.external); null: none.
  std::shared_ptr<const auth::ExternalTokenVerifier> external = {};
  // The operator's pre-send hook (docs/webhooks.md); null: none.
  hooks::PresendHook* presend = nullptr;
};

class Dispatcher {
 public:
  explicit Dispatcher(DispatcherDeps deps)
      : d_(deps),
        limits_(deps.limits),
        creations_(deps.limits.max_conversations_per_hour / 3600.0, deps.limits.max_conversations_per_hour),
        additions_(deps.limits.max_member_adds_per_hour / 3600.0, deps.limits.max_member_adds_per_hour),
        reports_(deps.limits.max_reports_per_hour / 3600.0, deps.limits.max_reports_per_hour),
        key_bundles_(deps.limits.max_key_bundles_per_hour / 3600.0, deps.limits.max_key_bundles_per_hour) {}

  // A reload's limits (docs/operations.md, "Reloading"): requests that start
  // from now on use them; the hourly budgets keep what each user has spent.
  void SetLimits(const chat::ChatLimits& limits);

  // From now on the steps that follow a commit in commit order (publishing,
  // and answers that wait for it) are dropped: the server is stopping and
  // its broker and workers are about to go, while turns still queued on them
  // may yet run.
  void StopPublishing() { publishing_.store(false); }

  // A session of `user` ended, and its end-to-end encryption device with it
  // (if it had one): the user and whoever shares an encrypted conversation
  // with them get a `devices` event with the list as it is now.
  void DevicesMayHaveChanged(UserId user);

  // Runs `method`'s row: refuses a caller it needs but does not have, reads
  // the params, runs the handler.
  void Call(const Method& method, const Caller& caller, const boost::json::object& params, Reply reply);

  // Accounts (dispatcher.cc).
  void Register(const Caller& c, RegisterParams p, Reply reply);
  void Login(const Caller& c, LoginParams p, Reply reply);
  void ExternalLogin(const Caller& c, ExternalLoginParams p, Reply reply);
  void Refresh(const Caller& c, RefreshParams p, Reply reply);
  void Logout(const Caller& c, NoParams p, Reply reply);
  void GetUser(const Caller& c, UserLookupParams p, Reply reply);
  void Ping(const Caller& c, NoParams p, Reply reply);

  // Conversations and members (conversation_methods.cc).
  void ListConversations(const Caller& c, ListConversationsParams p, Reply reply);
  void CreateConversation(const Caller& c, CreateConversationParams p, Reply reply);
  void GetConversation(const Caller& c, ConversationParams p, Reply reply);
  void Rename(const Caller& c, RenameParams p, Reply reply);
  void AddMembers(const Caller& c, AddMembersParams p, Reply reply);
  void RemoveMember(const Caller& c, RemoveMemberParams p, Reply reply);
  void Leave(const Caller& c, ConversationParams p, Reply reply);
  void SetRole(const Caller& c, SetRoleParams p, Reply reply);

  // The timeline and receipts (message_methods.cc).
  void SendMessage(const Caller& c, SendParams p, Reply reply);
  void History(const Caller& c, HistoryParams p, Reply reply);
  void Edit(const Caller& c, EditParams p, Reply reply);
  void BotLogin(const Caller& c, BotLoginParams p, Reply reply);
  void AdminCreateBot(const Caller& c, CreateBotParams p, Reply reply);
  void AdminRotateBotToken(const Caller& c, UserIdParams p, Reply reply);
  void Delete(const Caller& c, MessageParams p, Reply reply);
  void React(const Caller& c, ReactParams p, Reply reply);
  void MarkRead(const Caller& c, MessageParams p, Reply reply);
  void MarkDelivered(const Caller& c, MessageParams p, Reply reply);
  void CountReceipts(const Caller& c, MessageParams p, Reply reply);
  void Typing(const Caller& c, ConversationParams p, Reply reply);

  // Catch-up and presence (sync_methods.cc).
  void Sync(const Caller& c, SyncParams p, Reply reply);
  void CatchUp(const Caller& c, const SyncParams& p, std::function<void(Result<CatchUpAnswer>)> done);
  void GetPresence(const Caller& c, PresenceQueryParams p, Reply reply);
  void SetPresence(const Caller& c, SetPresenceParams p, Reply reply);

  // Profiles (profile_methods.cc).
  void SetProfile(const Caller& c, ProfileParams p, Reply reply);
  void AvatarUrl(const Caller& c, AvatarParams p, Reply reply);

  // Invitations and who may add the caller (invitation_methods.cc).
  void ListInvitations(const Caller& c, NoParams p, Reply reply);
  void AcceptInvitation(const Caller& c, ConversationParams p, Reply reply);
  void DeclineInvitation(const Caller& c, ConversationParams p, Reply reply);
  void GetPrivacy(const Caller& c, NoParams p, Reply reply);
  void SetPrivacy(const Caller& c, PrivacyParams p, Reply reply);

  // Blocks (block_methods.cc).
  // The key directory of end-to-end encryption (key_methods.cc).
  void PublishKeys(const Caller& c, PublishKeysParams p, Reply reply);
  void ClaimKeyBundles(const Caller& c, KeyBundleParams p, Reply reply);
  void CountKeys(const Caller& c, NoParams p, Reply reply);
  void ListKeyDevices(const Caller& c, UserLookupParams p, Reply reply);
  void AskSessionReset(const Caller& c, KeyBundleParams p, Reply reply);
  void RemoveKeys(const Caller& c, NoParams p, Reply reply);

  void Block(const Caller& c, BlockParams p, Reply reply);
  void ListBlocks(const Caller& c, NoParams p, Reply reply);

  // Operators (admin_methods.cc; docs/admin.md).
  void AdminListUsers(const Caller& c, AdminUsersParams p, Reply reply);
  void AdminGetUser(const Caller& c, UserIdParams p, Reply reply);
  void AdminSuspend(const Caller& c, SuspendParams p, Reply reply);
  void AdminRevokeSessions(const Caller& c, UserIdParams p, Reply reply);
  void AdminResetPassword(const Caller& c, PasswordResetParams p, Reply reply);
  void AdminSetRole(const Caller& c, ServerRoleParams p, Reply reply);
  void AdminDeleteMessage(const Caller& c, MessageParams p, Reply reply);
  void AdminAudit(const Caller& c, AuditParams p, Reply reply);
  // Export and erasure (export_methods.cc, erase_methods.cc).
  void AdminExportUser(const Caller& c, UserIdParams p, Reply reply);
  void AdminExportMessages(const Caller& c, ExportMessagesParams p, Reply reply);
  void AdminEraseUser(const Caller& c, UserIdParams p, Reply reply);
  void AdminCreateUser(const Caller& c, CreateUserParams p, Reply reply);
  void AdminBan(const Caller& c, ConversationBanParams p, Reply reply);
  void AdminListBans(const Caller& c, ConversationParams p, Reply reply);
  void AdminMute(const Caller& c, ConversationMuteParams p, Reply reply);
  void AdminCreateInvite(const Caller& c, CreateInviteParams p, Reply reply);
  void AdminListInvites(const Caller& c, NoParams p, Reply reply);
  void AdminDeleteInvite(const Caller& c, InviteIdParams p, Reply reply);

  // Reports (report_methods.cc): filed by users, worked through by moderators.
  void FileReport(const Caller& c, ReportParams p, Reply reply);
  void AdminListReports(const Caller& c, ReportsParams p, Reply reply);
  void AdminResolveReport(const Caller& c, ResolveReportParams p, Reply reply);

  // Push devices, settings and mutes (push_methods.cc).
  void RegisterPushDevice(const Caller& c, PushDeviceParams p, Reply reply);
  void UnregisterPushDevice(const Caller& c, NoParams p, Reply reply);
  void GetPushSettings(const Caller& c, NoParams p, Reply reply);
  void SetPushSettings(const Caller& c, PushSettingsParams p, Reply reply);
  void Mute(const Caller& c, MuteParams p, Reply reply);
  void Unmute(const Caller& c, ConversationParams p, Reply reply);
  void SetAppState(const Caller& c, AppStateParams p, Reply reply);

  // Uploads and attachments (media_methods.cc).
  void GetUpload(const Caller& c, UploadParams p, Reply reply);
  void CreateUpload(const Caller& c, CreateUploadParams p, Reply reply);
  void UploadParts(const Caller& c, UploadParams p, Reply reply);
  void CompleteUpload(const Caller& c, CompleteUploadParams p, Reply reply);
  void MediaUrl(const Caller& c, MediaUrlParams p, Reply reply);

 private:
  // Writes a conversation's creation or change, answers the view and tells
  // everyone concerned.
  // `settle` (optional) learns the outcome first: the view, or null when refused.
  using Settle = std::function<void(const chat::ConversationView*)>;
  void WriteConversation(const Caller& c, WriteKey key,
                         std::function<Result<chat::ConversationView>(ConversationTxn&)> op, Reply reply,
                         Settle settle = {});
  // Sends `p` once its attachments (if any) are the sender's and ready,
  // marked attached (which keeps them from expiring).
  void AttachThenSend(const Caller& c, SendParams p, Reply reply);
  // A send or edit past the cheap checks (and the pre-send hook, if any).
  void SendChecked(const Caller& c, SendParams p, Reply reply);
  void EditChecked(const Caller& c, EditParams p, Reply reply);
  // The pre-send hook (presend_methods.cc): asked first, then the send or
  // edit goes on with the text it accepted; its refusal is the answer.
  void CheckThenSend(const Caller& c, SendParams p, Reply reply);
  void CheckThenEdit(const Caller& c, EditParams p, Reply reply);
  void AskPresend(const Caller& c, const hooks::PresendCall& call, Reply reply,
                  std::function<void(std::string text, Reply reply)> go);
  void Attach(const Caller& c, SendParams p, Reply reply);
  void Send(const Caller& c, chat::SendRequest request, Reply reply);
  // Writes a change to a message, answers the event it appended and fans it out.
  void ChangeMessage(const Caller& c, ConversationId id, std::function<Result<chat::Appended>(ConversationTxn&)> op,
                     Reply reply);
  // An encrypted edit or reaction (chat::ChangeEncrypted).
  void ChangeEncrypted(const Caller& c, ConversationId id, Seq seq, EventKind kind, chat::EncryptedPayload payload,
                       Reply reply);
  void MarkReceipt(const Caller& c, const MessageParams& p, std::optional<Seq> delivered, std::optional<Seq> read,
                   Reply reply);
  // Tells everyone concerned what a conversation looks like now, and fans out
  // the system events the change appended.
  void PublishConversation(const chat::ConversationView& view, uint64_t origin);
  // Tells each user a change invited their invitation ({"type":"invitation"}),
  // and each one it added instead that theirs is gone.
  void PublishInvitations(const chat::ConversationView& view);
  // A user's devices changed (made or removed): the user's sockets, and those
  // of everyone who shares an encrypted conversation with them, learn the list.
  void PublishDevices(UserId user, const std::vector<DeviceId>& devices);
  // A device is short of one-time prekeys: its user's sockets are told.
  void PublishPreKeysLow(UserId user, DeviceId device, int64_t left);
  // Which of `users` share a conversation with `caller`, read from every
  // partition (chat/consent.h), then `then` on the caller's executor.
  void ReadContacts(const Caller& c, std::vector<UserId> users, std::function<void(chat::Contacts)> then);
  // Fans out one timeline event ({"type":"message"}) with each recipient's pts.
  void PublishTimeline(const chat::Appended& appended, uint64_t origin, bool to_each_recipient = false);
  // The presence.get answer for the users the caller may see.
  void AnswerPresence(Result<std::vector<User>> visible, const Reply& reply);
  LimitsSnapshot Limits() const { return LimitsSnapshot(limits_.Get()); }
  chat::Context ContextOf(const Caller& c) const {
    return chat::Context{c.user, d_.clock.NowMs(), c.role >= ServerRole::kModerator, c.session};
  }
  static Executor& ExecutorOf(const Caller& c) { return *c.executor; }

  // Whether a step taken in commit order still runs (StopPublishing).
  bool Publishing() const { return publishing_.load(std::memory_order_acquire); }

  // What a finished request leaves behind: its count and latency, a debug
  // line, and a warning for what a security review looks for (failed and
  // throttled logins, operators ending sessions).
  void Finished(const Method& method, const Caller& caller, const RequestSubject& subject,
                const Result<boost::json::value>& result, int64_t started_us) const;

  // Runs an operator's method: the caller's server role first (refused below
  // the method's), the call written to the audit log before it is answered.
  void CallAsOperator(const Method& method, const Caller& caller, const boost::json::object& params, Reply reply);

  // Takes what creating a conversation with `members` others (or adding them)
  // costs `user` from the hourly budgets; the refusal to answer otherwise.
  std::optional<Error> ChargeForMembership(UserId user, size_t members, bool creates);
  // Gives back what was charged and did not happen: a direct chat that
  // existed, users already in, a request refused (`view` null).
  void SettleMembership(UserId user, size_t members, bool creates, const chat::ConversationView* view);
  // The steps of an erasure (erase_methods.cc), each on the caller's executor:
  // the conversations the user touched, each in slices, then each
  // partition's rows; FailErasure answers why it stopped.
  struct Erasure;
  void FindErasedConversations(std::shared_ptr<Erasure> run);
  void EraseNextSlice(std::shared_ptr<Erasure> run);
  void ForgetErased(std::shared_ptr<Erasure> run, int partition);
  void FailErasure(const std::shared_ptr<Erasure>& run, Error error);
  // Writes `report` unless its reporter has it open already; answers it.
  void StoreReport(Executor& ex, Report report, Reply reply);

  DispatcherDeps d_;
  Reloadable<chat::ChatLimits> limits_;
  // Per user per hour: nobody can bury someone's conversations under
  // thousands of groups (per node; see docs/protocol.md).
  KeyedBuckets<UserId> creations_;
  KeyedBuckets<UserId> additions_;
  KeyedBuckets<UserId> reports_;      // reports.create, per user an hour
  KeyedBuckets<UserId> key_bundles_;  // keys.bundle, per user an hour
  // keys.bundle, per caller and user an hour ("<caller>:<user>").
  KeyedBuckets<std::string> key_claims_per_peer_{kKeyClaimsPerPeerPerHour / 3600.0, kKeyClaimsPerPeerPerHour};
  std::atomic<bool> publishing_{true};
};

}  // namespace natter::api
