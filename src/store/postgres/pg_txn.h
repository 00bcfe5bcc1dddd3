// AccountsTxn and ConversationTxn over one PostgreSQL connection, on one
// partition. The transaction itself (BEGIN/COMMIT, savepoints) is managed by
// the store threads; this class only runs the statements. Accounts (users,
// sessions, refresh tokens) live on the first instance, and every write to
// them runs there (Store::WriteAccounts). On other partitions a conversation's
// transaction only reads them (ConversationTxn::accounts), through
// `accounts`, outside its own transaction: a user found there never goes away.
// Not thread-safe: used on the thread that owns the connections.
#pragma once

#include <unordered_set>

#include "store/postgres/pg_batch_view.h"
#include "store/postgres/pg_conn.h"
#include "store/postgres/pg_kept_writes.h"
#include "store/store.h"

namespace natter::pg {

class PgTxn final : public AccountsTxn, public ConversationTxn {
 public:
  // `accounts` is null on the first partition (its own connection serves).
  PgTxn(Connection& conn, Connection* accounts) : db_(conn), accounts_(accounts ? *accounts : conn) {
    db_.OnKeptBack([this] { return kept_.SendTo(db_); }, [this] { kept_.Clear(); });
  }
  ~PgTxn() { db_.OnKeptBack(nullptr, nullptr); }
  PgTxn(const PgTxn&) = delete;
  PgTxn& operator=(const PgTxn&) = delete;

  // While on, and the connection pipelined, a send's writes are kept back
  // (pg_kept_writes.h) and go out together, before the next statement of any
  // kind; off (a batch run again strictly or with savepoints), each goes out
  // inside the operation that made it, so a failure is that operation's.
  // Set at the start of each batch.
  void KeepWritesBack(bool on) {
    keep_back_ = on;
    kept_.Clear();
  }
  // Writes kept back so far, sent or not: with writes_sent(), whether an
  // operation wrote anything.
  uint64_t writes_kept_back() const { return kept_.count(); }

  // What the writer's batch read ahead (empty on readers, and after any
  // change it does not follow).
  BatchView& view() { return view_; }
  // A writer batch's locks, and its view (pg_lock_ahead.cc). It passes over
  // the conversations another transaction holds, except those in `wait_for`.
  Status LockAhead(const std::vector<QueuedWrite>& batch, const std::vector<ConversationId>& wait_for);
  // LockAhead's reads of the sends' earlier messages (conversations,
  // senders, client_msg_ids) and of the messages replies name
  // (conversations, seqs), as arrays.
  static const char* const kEarlierSendsSql;
  static const char* const kRepliedToSql;
  // A conversation of the batch that LockAhead passed over: its writes wait
  // for the next batch.
  bool PassedOver(ConversationId id) const { return passed_over_.contains(id); }

  // Accounts (AccountsTxn).
  Status InsertUser(const User& user) override;
  Result<std::optional<User>> FindUserByHandle(std::string_view handle) override;
  Result<std::optional<User>> FindUser(UserId id) override;
  // Blocks (pg_blocks_txn.cc).
  Result<BlockState> BlocksBetween(UserId a, UserId b) override;
  Result<std::vector<UserId>> BlockersAmong(UserId whom, const std::vector<UserId>& among) override;
  Result<std::vector<UserId>> BlockedEitherWay(UserId user) override;
  Status SetBlocked(UserId by, UserId whom, bool blocked, int64_t now_ms) override;
  Status SetGroupAdds(UserId id, GroupAdds who) override;
  // Operators (pg_admin_txn.cc).
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
  // One person's data, to export or erase (pg_personal_data_txn.cc).
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
  Result<std::vector<UserId>> WhoShareWith(UserId id, const std::vector<UserId>& others) override;
  Result<UpdateLogState> GetUpdateLogState(UserId id) override;
  Result<int64_t> AppendUserUpdate(UserId id, ConversationId c, Seq seq) override;
  Result<std::vector<int64_t>> AppendUserUpdates(const std::vector<UserId>& users, ConversationId c, Seq seq) override;
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
  // Consent (pg_invitations_txn.cc).
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
  // LockAhead's statements, whose answers TakeAhead reads in this order.
  struct AheadTickets {
    int conversations = 0, existing = 0, heads = 0, members = 0;
    std::optional<int> sent;  // the sends' earlier messages, by the keys in `looked_up`
    std::vector<std::tuple<ConversationId, UserId, std::string>> looked_up;
    std::optional<int> replied;  // the messages replied to, by the keys in `replies`
    std::vector<std::pair<ConversationId, Seq>> replies;
    std::optional<int> blocks;  // between the two of each direct chat, when on this instance
  };
  Status TakeAhead(const AheadTickets& tickets);
  Status ReadBlocksAhead(std::optional<int> sent);
  // Written through the view when it holds `user`'s head.
  std::optional<int64_t> NextPts(UserId user);
  // The member row of `u` in the view.
  Member* ViewedMember(ConversationId c, UserId u);

  Connection& db_;
  Connection& accounts_;
  // Sends what was just kept, unless writes are kept back now.
  Status Keep();

  BatchView view_;
  std::unordered_set<ConversationId> passed_over_;
  KeptWrites kept_;
  bool keep_back_ = false;
};

}  // namespace natter::pg
