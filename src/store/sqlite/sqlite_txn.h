// AccountsTxn and ConversationTxn over one SQLite connection. The transaction itself (BEGIN/COMMIT,
// savepoints) is managed by the store threads; this class only runs the
// statements. Not thread-safe: used on the thread that owns the connection.
#pragma once

#include <algorithm>
#include <unordered_map>
#include <vector>

#include "store/sqlite/sqlite_db.h"
#include "store/store.h"

namespace natter::sqlite {

class SqliteTxn final : public AccountsTxn, public ConversationTxn {
 public:
  explicit SqliteTxn(Database& db) : db_(db) {}
  // The connection underneath, for tests that break a transaction from inside.
  Database& database() { return db_; }
  // The writer's batch, as far as what this connection remembers of its own
  // writes: what an undone operation or batch appended is forgotten (read
  // again when next needed); what others appended stays.
  void OperationBegins() { operation_start_ = uncommitted_.size(); }
  void OperationUndone() { ForgetSince(operation_start_); }
  void BatchCommitted() { uncommitted_.clear(); }
  void BatchUndone() { ForgetSince(0); }

  // Accounts (AccountsTxn).
  Status InsertUser(const User& user) override;
  Result<std::optional<User>> FindUserByHandle(std::string_view handle) override;
  Result<std::optional<User>> FindUser(UserId id) override;
  // Blocks (sqlite_blocks_txn.cc).
  Result<BlockState> BlocksBetween(UserId a, UserId b) override;
  Result<std::vector<UserId>> BlockersAmong(UserId whom, const std::vector<UserId>& among) override;
  Result<std::vector<UserId>> BlockedEitherWay(UserId user) override;
  Status SetBlocked(UserId by, UserId whom, bool blocked, int64_t now_ms) override;
  Status SetGroupAdds(UserId id, GroupAdds who) override;
  // Operators (sqlite_admin_txn.cc).
  Status SetServerRole(UserId id, ServerRole role) override;
  Status SetSuspended(UserId id, int64_t at_ms) override;
  Status SetPasswordHash(UserId id, std::string_view hash) override;
  Result<std::vector<SessionId>> RevokeUserSessions(UserId id) override;
  Result<std::vector<Session>> ListSessions(UserId id) override;
  Result<std::vector<User>> SearchUsers(std::string_view text, UserId after, int limit) override;
  Result<int64_t> InsertReport(const Report& report) override;
  Result<std::optional<Report>> FindOpenReport(UserId reporter, UserId target_user, ConversationId c, Seq seq) override;
  Result<std::optional<Report>> FindReport(int64_t id) override;
  Result<std::vector<Report>> ListReports(std::string_view state, int64_t before_id, int limit) override;
  Result<bool> ClaimReport(int64_t id, UserId by) override;
  Status ReleaseReport(int64_t id, UserId by) override;
  Result<bool> ResolveReport(int64_t id, UserId by, int64_t at_ms, std::string_view resolution,
                             std::string_view note) override;
  Result<int64_t> InsertInviteCode(const InviteCode& code) override;
  Result<bool> UseInviteCode(std::string_view code_hash, int64_t now_ms) override;
  Result<std::vector<InviteCode>> ListInviteCodes() override;
  Result<bool> DeleteInviteCode(int64_t id) override;
  Result<std::optional<UserId>> FindExternalUser(std::string_view issuer, std::string_view subject) override;
  Status LinkExternalUser(std::string_view issuer, std::string_view subject, UserId user, int64_t at_ms) override;
  // One person's data, to export or erase (sqlite_personal_data_txn.cc).
  Result<std::vector<SessionId>> EraseAccount(UserId id, int64_t now_ms, int64_t release_at) override;
  Result<std::vector<ConversationId>> ListTouchedConversations(UserId u) override;
  Result<std::vector<Message>> ListMessagesBy(ConversationId c, UserId u, Seq after_seq, int limit) override;
  Result<std::vector<std::pair<Seq, std::string>>> ListReactionsBy(ConversationId c, UserId u) override;
  Result<std::vector<MediaUpload>> ListUploadsOf(UserId id) override;
  Result<std::vector<Report>> ListReportsBy(UserId reporter) override;
  Result<std::vector<Seq>> ForgetReactionsBy(ConversationId c, UserId u) override;
  Status ForgetUserRows(UserId u) override;
  Status InsertAudit(const AuditEntry& entry) override;
  Result<std::vector<AuditEntry>> ListAudit(const AuditQuery& query) override;
  Result<bool> SetProfile(UserId id, std::string_view display_name, std::string_view avatar, int64_t avatar_upload,
                          int64_t avatar_before) override;
  Status ReleaseUploadAt(int64_t upload_id, int64_t due_at) override;
  Status CancelUploadRelease(int64_t upload_id) override;
  Status PutBotToken(const BotToken& token) override;
  Result<std::optional<BotToken>> FindBotToken(std::string_view token_hash) override;
  Result<bool> MoveBotSession(std::string_view token_hash, SessionId session) override;
  Result<std::optional<DeviceKeys>> FindDeviceOfSession(UserId user, SessionId session) override;
  Result<DeviceId> AddDevice(const DeviceKeys& device) override;
  Status SetSignedPreKey(UserId user, DeviceId device, const SignedPreKey& key) override;
  Result<int64_t> AddPreKeys(UserId user, DeviceId device, const std::vector<OneTimePreKey>& keys,
                             int64_t max_held) override;
  Result<bool> LockLiveSession(SessionId session) override;
  Result<int64_t> CountPreKeys(UserId user, DeviceId device) override;
  Result<std::vector<DeviceKeys>> ListDevices(UserId user) override;
  Result<std::vector<DeviceAddress>> ListDeviceIds(const std::vector<UserId>& users) override;
  Result<std::optional<OneTimePreKey>> ClaimPreKey(UserId user, DeviceId device) override;
  Result<bool> RemoveDevice(UserId user, DeviceId device) override;
  Status QueueAccountWebhook(const WebhookJob& job) override;
  Result<std::vector<BlockedUser>> ListBlocked(UserId by) override;
  Status InsertSession(const Session& session) override;
  Result<std::optional<Session>> FindSession(SessionId id) override;
  Status RevokeSession(SessionId id) override;
  Status InsertRefreshToken(const RefreshTokenRecord& token) override;
  Result<std::optional<RefreshTokenRecord>> FindRefreshToken(std::string_view hash) override;
  Result<bool> MarkRefreshTokenUsed(std::string_view hash) override;
  Status SetLastSeen(UserId id, int64_t ms) override;
  Status SetPresenceHidden(UserId id, bool hidden) override;
  Status SetOnlineAt(UserId id, int node, bool online) override;
  Status ClearOnlineAt(int node) override;
  Status PutPushDevice(const PushDevice& device) override;
  Status DeletePushDevice(SessionId session) override;
  Result<std::optional<PushDevice>> FindPushDevice(SessionId session) override;
  Result<bool> DeletePushToken(std::string_view platform, std::string_view token) override;
  Result<std::vector<PushDevice>> ListPushDevices(const std::vector<UserId>& users) override;
  Status SetPushLive(SessionId session, int node, bool live, int64_t last_heard_ms) override;
  Status SeePushNode(int node, int64_t now_ms) override;
  Status ForgetPushNode(int node) override;
  Result<int64_t> PushNodesSeenSince(int64_t since_ms) override;
  Status PrunePushPresence(int64_t before_ms) override;
  Status SetPushPreview(UserId id, bool show) override;
  Result<bool> GetPushPreview(UserId id) override;

  Status InsertUpload(const MediaUpload& upload) override;
  Result<std::optional<MediaUpload>> FindUpload(int64_t id) override;
  Result<bool> FinishUpload(int64_t id, std::string_view info, int64_t expires_at) override;
  Result<bool> AttachUpload(int64_t id, UserId user, int64_t now_ms, std::string_view send_key) override;
  Result<bool> DeleteUploadIf(int64_t id, UploadState state, int64_t expired_before) override;
  Status DeleteUpload(int64_t id) override;
  Result<MediaUsage> GetMediaUsage(UserId user, int64_t since_ms, int64_t now_ms) override;
  Result<std::vector<MediaUpload>> ListExpiredUploads(int64_t now_ms, int limit) override;
  Result<std::optional<int64_t>> RefObject(std::string_view sha256) override;
  Result<int64_t> AddObject(std::string_view sha256, int64_t generation) override;
  Result<bool> UnrefObject(std::string_view sha256, int64_t generation) override;
  Status AddMediaRelease(int64_t upload_id, int64_t due_at) override;
  Result<std::vector<int64_t>> ListDueMediaReleases(int64_t now_ms, int limit) override;
  Status DeleteMediaRelease(int64_t upload_id) override;

  // Conversations (ConversationTxn).
  AccountsReader& accounts() override { return *this; }
  Result<std::vector<MembersVersion>> ListSmallConversations(UserId id, int limit) override;
  Result<bool> ShareConversation(UserId a, UserId b) override;
  Result<UpdateLogState> GetUpdateLogState(UserId id) override;
  Result<int64_t> AppendUserUpdate(UserId id, ConversationId c, Seq seq) override;
  Result<std::vector<UserUpdate>> UserUpdatesSince(UserId id, int64_t after, int limit) override;
  Status PruneUserUpdates(UserId id, int64_t floor) override;

  Status InsertConversation(const Conversation& c) override;
  Result<std::optional<Conversation>> FindConversation(ConversationId id) override;
  Result<std::optional<ConversationId>> FindDirect(std::string_view direct_key) override;
  Status UpdateTitle(ConversationId id, std::string_view title) override;
  Result<Seq> NextSeq(ConversationId id, int64_t now_ms) override;
  Status InsertMember(const Member& m) override;
  Status DeleteMember(ConversationId c, UserId u) override;
  Status UpdateRole(ConversationId c, UserId u, Role role) override;
  Status SetLarge(ConversationId id) override;
  Status SetBySeq(ConversationId id) override;
  Status UpdateReadSeq(ConversationId c, UserId u, Seq seq) override;
  Status UpdateDeliveredSeq(ConversationId c, UserId u, Seq seq) override;
  Status UpdateWatermarks(ConversationId c, UserId u, Seq seq) override;
  Result<std::optional<Member>> FindMember(ConversationId c, UserId u) override;
  Result<std::optional<std::pair<Conversation, Member>>> FindMembership(ConversationId c, UserId u) override;
  Result<std::vector<Member>> ListMembers(ConversationId c) override;
  Result<std::vector<UserId>> ListMemberIds(ConversationId c) override;
  Result<std::vector<std::pair<ConversationId, UserId>>> ListMemberIdsOf(
      const std::vector<ConversationId>& conversations) override;
  Result<int64_t> CountMembers(ConversationId c) override;
  Result<std::vector<ConversationSummary>> ListConversations(UserId u, int limit, ListCursor after) override;
  Result<std::vector<ConversationId>> ListConversationIds(UserId u) override;
  Result<std::vector<Conversation>> ListBySeqConversations(UserId u) override;

  Status InsertMessage(const Message& m) override;
  Result<std::optional<Message>> FindMessage(ConversationId c, Seq seq) override;
  Result<std::optional<Message>> FindByClientMsgId(ConversationId c, UserId sender,
                                                   std::string_view client_msg_id) override;
  Result<std::vector<Message>> History(const HistoryQuery& q) override;
  Status UpdateMessageText(ConversationId c, Seq seq, std::string_view text, int64_t edited_at) override;
  Status EraseMessage(ConversationId c, Seq seq) override;
  Result<bool> SetReaction(ConversationId c, Seq seq, UserId u, std::string_view emoji) override;
  Result<bool> RemoveReaction(ConversationId c, Seq seq, UserId u) override;
  Status LoadReactions(std::vector<Message>& messages) override;
  Result<std::vector<UserId>> ListEncryptedPeers(UserId id, int limit) override;
  Status InsertEnvelopes(ConversationId c, Seq seq, const std::vector<Envelope>& envelopes) override;
  Status LoadEnvelopes(std::vector<Message>& messages, UserId reader) override;

  // Push (sqlite_push_txn.cc / pg_push_txn.cc).
  // Consent (sqlite_invitations_txn.cc).
  Result<std::vector<UserId>> ChosenContacts(UserId id, const std::vector<UserId>& others) override;
  Result<bool> PutInvitation(const Invitation& invitation) override;
  Result<std::optional<Invitation>> FindInvitation(ConversationId c, UserId u) override;
  Status DeleteInvitation(ConversationId c, UserId u) override;
  Result<std::vector<PendingInvitation>> ListInvitations(UserId u, int limit) override;
  Status SetDeparted(ConversationId c, UserId u, bool departed, int64_t at_ms) override;
  Result<bool> HasDeparted(ConversationId c, UserId u) override;
  Status SetMute(ConversationId c, UserId u, int64_t until) override;
  Status QueuePush(const PushJob& job) override;
  Result<std::vector<PushJob>> ClaimPushJobs(int64_t now, int64_t lease_until, int limit, int64_t claim) override;
  Result<bool> RenewPushClaim(const PushJob& job, int64_t lease_until) override;
  Status FinishPushJob(const PushJob& job, int64_t next_due) override;
  Status RetryPushJob(const PushJob& job, int64_t due_at) override;
  Result<std::vector<PushRecipient>> ListPushRecipients(ConversationId c, Seq seq) override;
  Result<int64_t> CountUnread(UserId u) override;
  Status MarkPushShown(ConversationId c, UserId u, Seq seq) override;
  Status ClearPushShown(ConversationId c, UserId u, Seq read_seq, int64_t due_at) override;
  Result<PushQueueStats> GetPushQueueStats() override;
  Status SetSilenced(ConversationId c, UserId u, int64_t until) override;
  Result<int64_t> FindSilenced(ConversationId c, UserId u) override;
  Status PutBan(const ConversationBan& ban) override;
  Result<bool> DeleteBan(ConversationId c, UserId u) override;
  Result<bool> IsBanned(ConversationId c, UserId u) override;
  Result<std::vector<ConversationBan>> ListBans(ConversationId c) override;
  Status QueueWebhook(const WebhookJob& job) override;
  Result<std::vector<WebhookJob>> ClaimWebhooks(int64_t now, int64_t lease_until, int limit, int64_t claim) override;
  Status FinishWebhook(const WebhookJob& job) override;
  Status RetryWebhook(const WebhookJob& job, int64_t due_at, bool attempted) override;
  Result<WebhookQueueStats> GetWebhookQueueStats() override;

 private:
  Database& db_;
  // Each user's last pts as this connection appended it, so the next entry
  // needs no read of the log's end (a statement per member per event). Only
  // the writer appends; entries are dropped with what is undone, with the
  // rows they stand for, and all at once past a bound.
  std::unordered_map<UserId, int64_t> last_pts_;
  // Users appended to since the batch began, in order; the operation under
  // way appended to those from `operation_start_` on.
  std::vector<UserId> uncommitted_;
  size_t operation_start_ = 0;
  void ForgetSince(size_t from) {
    for (size_t i = from; i < uncommitted_.size(); ++i) last_pts_.erase(uncommitted_[i]);
    uncommitted_.resize(std::min(from, uncommitted_.size()));
    operation_start_ = std::min(operation_start_, uncommitted_.size());
  }
};

}  // namespace natter::sqlite
