// The Store seam: durable state behind one small interface, with an embedded
// implementation (store/sqlite) and a scale one (store/postgres).
//
// Domain logic runs *inside* a transaction, through ConversationTxn (a
// conversation's partition) or AccountsTxn (the accounts partition), so every
// check it makes (membership, role, idempotency) and every write it does
// commit atomically. Store decides where the transaction runs: writes on a
// writer thread that commits many of them in one group (one fsync), reads on
// reader threads with their own connections. Results come back on the
// caller's Executor.
//
// Thread-safety: Store methods may be called from any thread. A transaction
// is only valid inside the callback it was passed to, on that thread.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/executor.h"
#include "common/guarded.h"
#include "common/mutex.h"
#include "common/request_id.h"
#include "natter/model.h"
#include "natter/status.h"
#include "store/commit_order.h"
#include "store/key_records.h"
#include "store/media_records.h"
#include "store/push_records.h"
#include "store/webhook_records.h"

namespace natter {

struct BlockState {
  bool a_blocked_b = false;
  bool b_blocked_a = false;
  bool b_erased = false;  // b's account was erased: nobody writes to it
};

// A user someone blocked, as their list shows it.
struct BlockedUser {
  UserId user_id = 0;
  std::string handle;
  int64_t blocked_at = 0;  // ms
};

// A conversation and the version of its member list, which changes whenever a
// member is added or removed (a trigger; on PostgreSQL it never repeats, even
// after a failover to a standby that was behind): the same number means the
// same members, so a list read before can stand in for them (presence keeps
// them: presence/member_lists.h).
struct MembersVersion {
  ConversationId conversation_id = 0;
  int64_t version = 0;
};

struct HistoryQuery {
  ConversationId conversation_id = 0;
  std::optional<Seq> before;  // messages with seq < before, newest first
  std::optional<Seq> after;   // messages with seq > after, oldest first
  int limit = 50;
};

// Reads of accounts that any transaction may make. A conversation's
// transaction on a partition other than the first makes them outside its own
// transaction: a user, once made, never goes away, so what they find cannot
// change under it.
class AccountsReader {
 public:
  virtual Result<std::optional<User>> FindUserByHandle(std::string_view handle) = 0;
  virtual Result<std::optional<User>> FindUser(UserId id) = 0;
  // Whether `a` blocked `b` and whether `b` blocked `a` (users.block), and
  // whether `b` was erased, in one read.
  virtual Result<BlockState> BlocksBetween(UserId a, UserId b) = 0;
  // Those of `among` who blocked `whom`.
  virtual Result<std::vector<UserId>> BlockersAmong(UserId whom, const std::vector<UserId>& among) = 0;
  // Everyone `user` blocked or was blocked by (ids only).
  virtual Result<std::vector<UserId>> BlockedEitherWay(UserId user) = 0;
  // Whom `by` blocked, newest first.
  virtual Result<std::vector<BlockedUser>> ListBlocked(UserId by) = 0;
  // The key directory (docs/e2ee.md): the device a session published keys
  // as, and the devices of each of `users`, ordered by user and device.
  virtual Result<std::optional<DeviceKeys>> FindDeviceOfSession(UserId user, SessionId session) = 0;
  virtual Result<std::vector<DeviceAddress>> ListDeviceIds(const std::vector<UserId>& users) = 0;

 protected:
  ~AccountsReader() = default;
};

// What may be done inside one transaction on the accounts partition (the
// first): users, sessions, refresh tokens and presence settings. Methods
// return Result where the storage itself can fail.
class AccountsTxn : public AccountsReader {
 public:
  virtual Status InsertUser(const User& user) = 0;  // Conflict when the handle is taken
  virtual Status InsertSession(const Session& session) = 0;
  virtual Result<std::optional<Session>> FindSession(SessionId id) = 0;
  virtual Status RevokeSession(SessionId id) = 0;
  virtual Status InsertRefreshToken(const RefreshTokenRecord& token) = 0;
  virtual Result<std::optional<RefreshTokenRecord>> FindRefreshToken(std::string_view hash) = 0;
  // Marks the token used; false when it already was (checked and set in one
  // statement, so two nodes rotating the same token cannot both succeed).
  virtual Result<bool> MarkRefreshTokenUsed(std::string_view hash) = 0;
  virtual Status SetLastSeen(UserId id, int64_t ms) = 0;
  virtual Status SetPresenceHidden(UserId id, bool hidden) = 0;
  // `by` blocks `whom` from `now_ms` on (again: unchanged), or unblocks.
  virtual Status SetBlocked(UserId by, UserId whom, bool blocked, int64_t now_ms) = 0;
  virtual Status SetGroupAdds(UserId id, GroupAdds who) = 0;

  // Operators (docs/admin.md).
  virtual Status SetServerRole(UserId id, ServerRole role) = 0;
  // Suspends the account from `at_ms` on; 0 lifts it.
  virtual Status SetSuspended(UserId id, int64_t at_ms) = 0;
  virtual Status SetPasswordHash(UserId id, std::string_view hash) = 0;
  // Ends every session of `id` still open; the ones it ended.
  virtual Result<std::vector<SessionId>> RevokeUserSessions(UserId id) = 0;
  virtual Result<std::vector<Session>> ListSessions(UserId id) = 0;
  // Users whose handle or display name holds `text` (any case; empty: all),
  // by id after `after`, at most `limit`.
  virtual Result<std::vector<User>> SearchUsers(std::string_view text, UserId after, int limit) = 0;
  // Reports: the id the store gave.
  virtual Result<int64_t> InsertReport(const Report& report) = 0;
  // `reporter`'s open report of the same message (or user), if any.
  virtual Result<std::optional<Report>> FindOpenReport(UserId reporter, UserId target_user, ConversationId c,
                                                       Seq seq) = 0;
  virtual Result<std::optional<Report>> FindReport(int64_t id) = 0;
  // `state` "" for any; newest first below `before_id`.
  virtual Result<std::vector<Report>> ListReports(std::string_view state, int64_t before_id, int limit) = 0;
  // A moderator takes an open report to act on it (state "resolving"); false
  // when it was not open (another moderator first). Released back to open
  // when the action fails, closed with what was done when it succeeded.
  virtual Result<bool> ClaimReport(int64_t id, UserId by) = 0;
  virtual Status ReleaseReport(int64_t id, UserId by) = 0;
  virtual Result<bool> ResolveReport(int64_t id, UserId by, int64_t at_ms, std::string_view resolution,
                                     std::string_view note) = 0;
  // Invite codes: the id the store gave.
  virtual Result<int64_t> InsertInviteCode(const InviteCode& code) = 0;
  // Takes one use of the code with hash `code_hash` if it has one left and
  // has not expired at `now_ms`; whether it did.
  virtual Result<bool> UseInviteCode(std::string_view code_hash, int64_t now_ms) = 0;
  virtual Result<std::vector<InviteCode>> ListInviteCodes() = 0;
  virtual Result<bool> DeleteInviteCode(int64_t id) = 0;
  // The account a user of an external issuer (docs/admin.md) was given.
  virtual Result<std::optional<UserId>> FindExternalUser(std::string_view issuer, std::string_view subject) = 0;
  virtual Status LinkExternalUser(std::string_view issuer, std::string_view subject, UserId user, int64_t at_ms) = 0;
  // Erasure (docs/admin.md): the accounts partition forgets `id` but for the
  // row that keeps its id, erased at `now_ms`: the handle becomes
  // `~erased-<id>` (which no one can register), and the profile, password,
  // server role, sessions, refresh tokens, push devices, blocks either way,
  // external identities, the words of their reports and the text of their
  // reported messages go. Their uploads are released at `release_at` (those
  // attached) or expire then (the others). The audit log stays. The sessions
  // it ended.
  virtual Result<std::vector<SessionId>> EraseAccount(UserId id, int64_t now_ms, int64_t release_at) = 0;
  // For an export (docs/admin.md): `id`'s uploads, and the reports they filed,
  // oldest first.
  virtual Result<std::vector<MediaUpload>> ListUploadsOf(UserId id) = 0;
  virtual Result<std::vector<Report>> ListReportsBy(UserId reporter) = 0;
  virtual Status InsertAudit(const AuditEntry& entry) = 0;
  virtual Result<std::vector<AuditEntry>> ListAudit(const AuditQuery& query) = 0;
  // The profile others see (User::display_name, avatar, avatar_upload), if
  // the picture is still `avatar_before`'s; false when another change came
  // first (another node's), or the account was erased.
  virtual Result<bool> SetProfile(UserId id, std::string_view display_name, std::string_view avatar,
                                  int64_t avatar_upload, int64_t avatar_before) = 0;
  // The upload's objects go once `due_at` passes (a replaced avatar): the
  // same release a deleted message's attachments get, written with the
  // accounts. Cancelled when the upload is taken back into use.
  virtual Status ReleaseUploadAt(int64_t upload_id, int64_t due_at) = 0;
  virtual Status CancelUploadRelease(int64_t upload_id) = 0;
  // Bots (docs/admin.md): makes `token.user_id` a bot whose token is
  // `token` (its earlier one, if any, no longer works).
  virtual Status PutBotToken(const BotToken& token) = 0;
  virtual Result<std::optional<BotToken>> FindBotToken(std::string_view token_hash) = 0;
  // Points the token at another session (its own was ended); false when the
  // token is gone (rotated or erased meanwhile). Its row stays locked to the
  // end of the transaction, so a rotation waits for it.
  virtual Result<bool> MoveBotSession(std::string_view token_hash, SessionId session) = 0;
  // The key directory (docs/e2ee.md), with the accounts. AddDevice assigns
  // the user's next device id (never one given before) and returns it.
  virtual Result<DeviceId> AddDevice(const DeviceKeys& device) = 0;
  virtual Status SetSignedPreKey(UserId user, DeviceId device, const SignedPreKey& key) = 0;
  // Adds those above the highest id the device ever published (so a key
  // claimed and gone never comes back); returns how many the device holds
  // then. Refused (TooLarge) before anything is written when that would be
  // more than `max_held`.
  virtual Result<int64_t> AddPreKeys(UserId user, DeviceId device, const std::vector<OneTimePreKey>& keys,
                                     int64_t max_held) = 0;
  // False when the session has ended. Until the transaction ends, an ending
  // of it waits (PostgreSQL: a share lock), so nothing is added for a
  // session that a revocation is removing the device of.
  virtual Result<bool> LockLiveSession(SessionId session) = 0;
  virtual Result<int64_t> CountPreKeys(UserId user, DeviceId device) = 0;
  virtual Result<std::vector<DeviceKeys>> ListDevices(UserId user) = 0;
  // Takes one of the device's one-time prekeys away, for good: two claims,
  // on any node, never get the same key. Nullopt when none is left.
  virtual Result<std::optional<OneTimePreKey>> ClaimPreKey(UserId user, DeviceId device) = 0;
  // The device and its prekeys; false when it was not there.
  virtual Result<bool> RemoveDevice(UserId user, DeviceId device) = 0;
  // Queues an account event's webhook (a report filed, a user registered)
  // with the write that makes it; nothing when its event_id is queued already.
  virtual Status QueueAccountWebhook(const WebhookJob& job) = 0;
  // Marks `id` online at `node` (a bit of User::online_nodes), or not.
  virtual Status SetOnlineAt(UserId id, int node, bool online) = 0;
  // Clears `node`'s bit of every user and push device: a node starting holds
  // no connection.
  virtual Status ClearOnlineAt(int node) = 0;

  // Push devices and settings. Put replaces the session's device and takes
  // its token from any other session; `unauthorized` when the session was
  // revoked (or never was). Revoking a session deletes its device.
  virtual Status PutPushDevice(const PushDevice& device) = 0;
  virtual Status DeletePushDevice(SessionId session) = 0;
  virtual Result<std::optional<PushDevice>> FindPushDevice(SessionId session) = 0;
  // A token the provider says is dead; whether there was one.
  virtual Result<bool> DeletePushToken(std::string_view platform, std::string_view token) = 0;
  // The devices of `users`, with their live state and their user's settings.
  virtual Result<std::vector<PushDevice>> ListPushDevices(const std::vector<UserId>& users) = 0;
  // Marks `session` as holding a foreground connection at `node`, or not
  // (then its last_live_at becomes `last_heard_ms`, when it was last heard
  // from). Kept for every session, with or without a device.
  virtual Status SetPushLive(SessionId session, int node, bool live, int64_t last_heard_ms) = 0;
  // The nodes whose push worker runs, as seen by each at `now_ms`; `ForgetPushNode`
  // when one stops. PushNodesSeenSince: a bit per node seen at or after `since_ms`.
  virtual Status SeePushNode(int node, int64_t now_ms) = 0;
  virtual Status ForgetPushNode(int node) = 0;
  virtual Result<int64_t> PushNodesSeenSince(int64_t since_ms) = 0;
  // Forgets the live state of sessions not live anywhere since `before_ms`.
  virtual Status PrunePushPresence(int64_t before_ms) = 0;
  virtual Status SetPushPreview(UserId id, bool show) = 0;
  virtual Result<bool> GetPushPreview(UserId id) = 0;

  // Media uploads (store/media_records.h).
  virtual Status InsertUpload(const MediaUpload& upload) = 0;
  virtual Result<std::optional<MediaUpload>> FindUpload(int64_t id) = 0;
  // Uploading -> ready with `info`, expiring at `expires_at`; false when the
  // upload was not uploading (finished already, or gone).
  virtual Result<bool> FinishUpload(int64_t id, std::string_view info, int64_t expires_at) = 0;
  // Ready -> attached to the send `send_key`, never expiring; false when the
  // upload is not `user`'s, not ready, expires before `now_ms`, or is
  // attached to another send (the same send retried finds it attached).
  virtual Result<bool> AttachUpload(int64_t id, UserId user, int64_t now_ms, std::string_view send_key) = 0;
  virtual Status DeleteUpload(int64_t id) = 0;
  // Deletes the upload if it is in `state` and, when `expired_before` is not
  // 0, expired before then; whether it did (another node may have been first).
  virtual Result<bool> DeleteUploadIf(int64_t id, UploadState state, int64_t expired_before) = 0;
  // Uploads of `user` created at or after `since_ms`, and the bytes of those
  // holding storage at `now_ms` (every one but an unfinished one past its
  // expiry).
  virtual Result<MediaUsage> GetMediaUsage(UserId user, int64_t since_ms, int64_t now_ms) = 0;
  // Up to `limit` uploads that expired before `now_ms`, oldest first.
  virtual Result<std::vector<MediaUpload>> ListExpiredUploads(int64_t now_ms, int limit) = 0;
  // The catalog of stored objects: one row per content hash, naming the
  // generation its object is stored under and how many uploads use it. A row
  // exists only once its object is written.
  // One more use of `sha256`'s object: its generation; none when not stored.
  virtual Result<std::optional<int64_t>> RefObject(std::string_view sha256) = 0;
  // An object just written under `generation` is used once; if another was
  // catalogued for `sha256` meanwhile, that one is used instead: the
  // generation in use (the caller deletes its own when it differs).
  virtual Result<int64_t> AddObject(std::string_view sha256, int64_t generation) = 0;
  // One use less; true when it was the last (the row goes; the caller
  // deletes the object). False for an object the catalog does not hold.
  virtual Result<bool> UnrefObject(std::string_view sha256, int64_t generation) = 0;

 protected:
  ~AccountsTxn() = default;
};

// What domain logic may do inside one transaction on a conversation's
// partition: its conversations, members, timelines and the update-log entries
// they make, every check (membership, role, idempotency) and every write
// committing atomically. Accounts are only read from here (accounts()).
class ConversationTxn {
 public:
  // Users, read-only: a write to an account is an AccountsTxn's.
  virtual AccountsReader& accounts() = 0;

  // Contacts: users who share a conversation held on this partition.
  // The conversations of `id` that are not large (presence is shown to their
  // members), at most `limit`, with their members' version.
  virtual Result<std::vector<MembersVersion>> ListSmallConversations(UserId id, int limit) = 0;
  virtual Result<bool> ShareConversation(UserId a, UserId b) = 0;
  // Those of `others` who share a conversation that is not large with `id`.
  // A store that can ask in one statement does.
  virtual Result<std::vector<UserId>> WhoShareWith(UserId id, const std::vector<UserId>& others) {
    std::vector<UserId> out;
    for (UserId o : others) {
      if (o == id) continue;
      NATTER_TRY(bool shared, ShareConversation(id, o));
      if (shared) out.push_back(o);
    }
    return out;
  }

  // Those of `others` who chose to be in touch with `id` (consent to be
  // added, chat/consent.h): they share a conversation that is not large and,
  // when it is a direct one (which anyone may open with anyone), they started
  // it or wrote in it.
  virtual Result<std::vector<UserId>> ChosenContacts(UserId id, const std::vector<UserId>& others) = 0;

  // The per-user update log (pts).
  virtual Result<UpdateLogState> GetUpdateLogState(UserId id) = 0;
  // Appends one entry and returns its pts.
  virtual Result<int64_t> AppendUserUpdate(UserId id, ConversationId c, Seq seq) = 0;
  // The same change for each of `users` (distinct), their pts in that order.
  // A store that can do it in one statement does (every member of a group
  // gets an entry for every message).
  virtual Result<std::vector<int64_t>> AppendUserUpdates(const std::vector<UserId>& users, ConversationId c, Seq seq) {
    std::vector<int64_t> pts;
    pts.reserve(users.size());
    for (UserId u : users) {
      NATTER_TRY(int64_t p, AppendUserUpdate(u, c, seq));
      pts.push_back(p);
    }
    return pts;
  }
  // Entries with pts > after, oldest first, at most `limit`.
  virtual Result<std::vector<UserUpdate>> UserUpdatesSince(UserId id, int64_t after, int limit) = 0;
  // Drops entries at or below `floor` and records the new floor.
  virtual Status PruneUserUpdates(UserId id, int64_t floor) = 0;

  // Conversations and members.
  virtual Status InsertConversation(const Conversation& c) = 0;
  virtual Result<std::optional<Conversation>> FindConversation(ConversationId id) = 0;
  virtual Result<std::optional<ConversationId>> FindDirect(std::string_view direct_key) = 0;
  virtual Status UpdateTitle(ConversationId id, std::string_view title) = 0;
  // Assigns the conversation's next sequence number; dense and gap-free
  // because it runs inside the same transaction as the insert that uses it.
  virtual Result<Seq> NextSeq(ConversationId id, int64_t now_ms) = 0;
  virtual Status InsertMember(const Member& m) = 0;
  virtual Status DeleteMember(ConversationId c, UserId u) = 0;
  virtual Status UpdateRole(ConversationId c, UserId u, Role role) = 0;
  // Large from now on (which is also followed by seq).
  virtual Status SetLarge(ConversationId id) = 0;
  // Followed by seq from now on (Conversation::by_seq).
  virtual Status SetBySeq(ConversationId id) = 0;
  virtual Status UpdateReadSeq(ConversationId c, UserId u, Seq seq) = 0;       // only moves forward
  virtual Status UpdateDeliveredSeq(ConversationId c, UserId u, Seq seq) = 0;  // only moves forward
  // Moves both watermarks forward to `seq` in one statement (a sender has seen its own message).
  virtual Status UpdateWatermarks(ConversationId c, UserId u, Seq seq) = 0;
  virtual Result<std::optional<Member>> FindMember(ConversationId c, UserId u) = 0;
  // The conversation and `u`'s membership of it, in one lookup; empty when not a member.
  virtual Result<std::optional<std::pair<Conversation, Member>>> FindMembership(ConversationId c, UserId u) = 0;
  virtual Result<std::vector<Member>> ListMembers(ConversationId c) = 0;
  // Only the members' ids, in id order: what fan-out needs, read from the key
  // alone (a send to 1,000 members reads no member row).
  virtual Result<std::vector<UserId>> ListMemberIds(ConversationId c) = 0;
  // The members of several conversations in one read: (conversation, user)
  // pairs, in that order.
  virtual Result<std::vector<std::pair<ConversationId, UserId>>> ListMemberIdsOf(
      const std::vector<ConversationId>& conversations) = 0;
  virtual Result<int64_t> CountMembers(ConversationId c) = 0;
  // The user's conversations after `after`, newest activity first.
  virtual Result<std::vector<ConversationSummary>> ListConversations(UserId u, int limit, ListCursor after) = 0;
  // The ids of every conversation `u` is a member of.
  virtual Result<std::vector<ConversationId>> ListConversationIds(UserId u) = 0;
  // Every conversation `u` is a member of that is followed by seq, with its last seq.
  virtual Result<std::vector<Conversation>> ListBySeqConversations(UserId u) = 0;

  // Messages.
  virtual Status InsertMessage(const Message& m) = 0;
  virtual Result<std::optional<Message>> FindMessage(ConversationId c, Seq seq) = 0;
  virtual Result<std::optional<Message>> FindByClientMsgId(ConversationId c, UserId sender,
                                                           std::string_view client_msg_id) = 0;
  virtual Result<std::vector<Message>> History(const HistoryQuery& q) = 0;
  virtual Status UpdateMessageText(ConversationId c, Seq seq, std::string_view text, int64_t edited_at) = 0;
  // Makes `seq` a tombstone: its text, and the text of every edit of it, is erased.
  virtual Status EraseMessage(ConversationId c, Seq seq) = 0;
  // Both return whether anything changed.
  virtual Result<bool> SetReaction(ConversationId c, Seq seq, UserId u, std::string_view emoji) = 0;
  virtual Result<bool> RemoveReaction(ConversationId c, Seq seq, UserId u) = 0;
  // Fills `reactions` of every message in `messages`.
  virtual Status LoadReactions(std::vector<Message>& messages) = 0;
  // Users who share an end-to-end encrypted conversation held here with
  // `id` (they address its devices), at most `limit`.
  virtual Result<std::vector<UserId>> ListEncryptedPeers(UserId id, int limit) = 0;
  // An encrypted message's envelopes (docs/e2ee.md), kept until the message
  // is erased (EraseMessage takes them, and its edits' and reactions').
  virtual Status InsertEnvelopes(ConversationId c, Seq seq, const std::vector<Envelope>& envelopes) = 0;
  // Fills `envelopes` of every message in `messages` (one conversation's)
  // with its header and the envelopes of `reader`'s devices.
  virtual Status LoadEnvelopes(std::vector<Message>& messages, UserId reader) = 0;

  // Consent (chat/consent.h): additions waiting for an answer, and who left
  // or declined a conversation (their next addition is an invitation again).
  // Puts `invitation` unless its user has one to the conversation already:
  // whether it was put.
  virtual Result<bool> PutInvitation(const Invitation& invitation) = 0;
  virtual Result<std::optional<Invitation>> FindInvitation(ConversationId c, UserId u) = 0;
  virtual Status DeleteInvitation(ConversationId c, UserId u) = 0;
  // `u`'s invitations to this partition's conversations, newest first, at most `limit`.
  virtual Result<std::vector<PendingInvitation>> ListInvitations(UserId u, int limit) = 0;
  // Records that `u` left or declined `c` at `at_ms`, or forgets it.
  virtual Status SetDeparted(ConversationId c, UserId u, bool departed, int64_t at_ms) = 0;
  virtual Result<bool> HasDeparted(ConversationId c, UserId u) = 0;

  // What a partition holds of one person, to export or erase (docs/admin.md),
  // one conversation at a time, then the rest.
  // This partition's conversations `u` is a member of, left, wrote or
  // reacted in, or is invited to.
  virtual Result<std::vector<ConversationId>> ListTouchedConversations(UserId u) = 0;
  // The live messages `u` sent to `c` after `after_seq`, oldest first, at
  // most `limit` (no reactions loaded).
  virtual Result<std::vector<Message>> ListMessagesBy(ConversationId c, UserId u, Seq after_seq, int limit) = 0;
  // `u`'s reactions in `c`: the message and the emoji.
  virtual Result<std::vector<std::pair<Seq, std::string>>> ListReactionsBy(ConversationId c, UserId u) = 0;
  // Takes away `u`'s reactions in `c` and blanks the emoji of their reaction
  // events, and erases the ciphertexts of their encrypted edits and
  // reactions: the seqs of the messages that lost a (plain) reaction.
  virtual Result<std::vector<Seq>> ForgetReactionsBy(ConversationId c, UserId u) = 0;
  // What this partition holds of `u` outside timelines: their update log,
  // invitations to them and from them, departures, pushes queued and shown,
  // the envelopes addressed to their devices.
  virtual Status ForgetUserRows(UserId u) = 0;

  // A server moderator's say over a conversation (chat/moderation.h): `u`
  // muted until `until` (ms; 0 lifts it), kept apart from the membership so it
  // outlives leaving and coming back, and copied onto the membership, where
  // a send reads it; and bans.
  virtual Status SetSilenced(ConversationId c, UserId u, int64_t until) = 0;
  // The mute kept for `u` in `c` (ms), 0 if none.
  virtual Result<int64_t> FindSilenced(ConversationId c, UserId u) = 0;
  virtual Status PutBan(const ConversationBan& ban) = 0;
  // Whether there was a ban to lift.
  virtual Result<bool> DeleteBan(ConversationId c, UserId u) = 0;
  virtual Result<bool> IsBanned(ConversationId c, UserId u) = 0;
  // The conversation's bans, oldest first.
  virtual Result<std::vector<ConversationBan>> ListBans(ConversationId c) = 0;

  // Push: mutes, the queue of pushes of this partition's conversations, and
  // which conversations a user was last alerted of (to clear once read).
  // `until` in ms; 0 unmutes, kMutedForever never ends.
  virtual Status SetMute(ConversationId c, UserId u, int64_t until) = 0;
  // A message job extends the conversation's queued one (keeping its due
  // time, or taking the job's when that is sooner: a job put off by a retry
  // comes back for a new message, its attempts counted afresh) or is added;
  // a clear job replaces the user's queued one.
  // Media of deleted messages: uploads whose objects are released once
  // `due_at` (ms) passes (a grace period for downloads under way).
  virtual Status AddMediaRelease(int64_t upload_id, int64_t due_at) = 0;
  virtual Result<std::vector<int64_t>> ListDueMediaReleases(int64_t now_ms, int limit) = 0;
  virtual Status DeleteMediaRelease(int64_t upload_id) = 0;

  virtual Status QueuePush(const PushJob& job) = 0;
  // Up to `limit` jobs due at `now` and not claimed by another worker, now
  // claimed with the token `claim` until `lease_until` (a worker that dies
  // loses them then).
  virtual Result<std::vector<PushJob>> ClaimPushJobs(int64_t now, int64_t lease_until, int limit, int64_t claim) = 0;
  // Extends the claim of `job` (job.claim); false when it was lost (the
  // lease ran out and another worker took it).
  virtual Result<bool> RenewPushClaim(const PushJob& job, int64_t lease_until) = 0;
  // The job was sent: deletes it, or, when messages came after its
  // last_seq meanwhile, keeps those as a job due at `next_due`. Nothing when
  // the claim was lost.
  virtual Status FinishPushJob(const PushJob& job, int64_t next_due) = 0;
  // Releases a claimed job to run again at `due_at`, one more attempt
  // counted. Nothing when the claim was lost.
  virtual Status RetryPushJob(const PushJob& job, int64_t due_at) = 0;
  // Members of `c` whose read mark is below `seq`, with what they were shown.
  virtual Result<std::vector<PushRecipient>> ListPushRecipients(ConversationId c, Seq seq) = 0;
  // Others' live messages `u` has not read, in this partition's conversations.
  virtual Result<int64_t> CountUnread(UserId u) = 0;
  virtual Status MarkPushShown(ConversationId c, UserId u, Seq seq) = 0;
  // Forgets that `u` was alerted of `c` up to a seq at or below `read_seq`;
  // when there was such an alert, queues a clear job for `u` (up to
  // `read_seq`, due at `due_at`) so that their devices remove it.
  virtual Status ClearPushShown(ConversationId c, UserId u, Seq read_seq, int64_t due_at) = 0;
  virtual Result<PushQueueStats> GetPushQueueStats() = 0;

  // Webhooks (store/webhook_records.h): the queue of this partition's events
  // still to deliver. Queue puts a job unless its event_id is queued already.
  virtual Status QueueWebhook(const WebhookJob& job) = 0;
  // Up to `limit` jobs due at `now` and not claimed by another worker, oldest
  // first, now claimed with the token `claim` until `lease_until`.
  virtual Result<std::vector<WebhookJob>> ClaimWebhooks(int64_t now, int64_t lease_until, int limit, int64_t claim) = 0;
  // Delivered (or given up): gone. Nothing when the claim was lost.
  virtual Status FinishWebhook(const WebhookJob& job) = 0;
  // Tried again at `due_at`, one more attempt counted unless it was never
  // tried (cut short). Nothing when the claim was lost.
  virtual Status RetryWebhook(const WebhookJob& job, int64_t due_at, bool attempted) = 0;
  virtual Result<WebhookQueueStats> GetWebhookQueueStats() = 0;

 protected:
  ~ConversationTxn() = default;
};

// Where a write goes: its partition, and the conversation it changes (0:
// none, or a new one), so a store can take the locks a batch needs in one
// order (store/postgres).
struct WriteKey {
  WriteKey(int p = 0, ConversationId c = 0) : partition(p), conversation(c) {}  // NOLINT: a partition alone converts
  int partition;
  ConversationId conversation;
  // Of a send: who sends, under which client_msg_id. Its operation looks
  // that up first, and a store may read it ahead with the batch's locks.
  UserId sender = 0;
  std::string client_msg_id;
  Seq reply_to = 0;  // of a send that replies: the message replied to, also read ahead
};

// A write waiting in a store's queue for its writer thread: exactly one of
// `op` and `accounts_op` is set. `done` runs on a store thread once the
// batch's outcome is durable (the embedded store's syncer, or the writer).
struct QueuedWrite {
  ConversationId conversation = 0;  // the one it changes; 0: none, or a new one
  UserId sender = 0;                // of a send (WriteKey)
  std::string client_msg_id;
  Seq reply_to = 0;
  std::function<Status(ConversationTxn&)> op;
  std::function<Status(AccountsTxn&)> accounts_op;
  std::function<void(Status, CommitTurn)> done;
  RequestId request = CurrentRequestId();  // whose it is, for the log lines it causes
};

// What a read hands back to the store instead of answering at once: the
// answer's delivery. The store runs it once what the read saw is durable;
// `durable` is false when that can no longer be (the storage failed to sync),
// and the answer must then be `unavailable`.
using ReadReply = std::function<void(bool durable)>;

// A read waiting in a store's queue for a reader thread: exactly one of `op`
// and `accounts_op` is set.
struct QueuedRead {
  std::function<ReadReply(ConversationTxn&)> op;
  std::function<ReadReply(AccountsTxn&)> accounts_op;
  std::function<void(Error)> refused;
  RequestId request = CurrentRequestId();
};

// Why a committed write or a read of it is answered `unavailable`: the
// storage could not make it durable.
inline Error NotDurableError() {
  return Unavailable("storage unavailable: what was written could not be made durable (the disk failed a sync)");
}

// `fn(txn)`, or `internal` when it throws (a bug): the caller is still answered.
template <class T, class Fn, class Txn>
Result<T> CatchingRead(Fn& fn, Txn& txn) {
  std::optional<Result<T>> out;
  if (!RunCatching("store read", [&] { out.emplace(fn(txn)); }) || !out) return Internal("internal error");
  return std::move(*out);
}

// Where data lives. The embedded store has one partition. A partitioned store
// (PostgreSQL instances) keeps accounts on partition 0 and each conversation,
// with its members, timeline and the update-log entries it makes, on the
// partition its id picks; a user's update log is kept per partition, so a
// write never spans two of them.
//
// Every result comes back on the Executor the caller passes, never on a store
// thread: the store's threads only run transactions.
class Store {
 public:
  virtual ~Store() = default;

  virtual int Partitions() const { return 1; }
  // The partition that holds conversation `id`.
  int PartitionOf(ConversationId id) const { return PartitionOfKey(static_cast<uint64_t>(id)); }
  // The partition for any other stable key.
  int PartitionOfKey(uint64_t key) const;
  // Where the direct chat of two users lives, whichever of them asks.
  int PartitionOfPair(UserId a, UserId b) const {
    uint64_t low = static_cast<uint64_t>(std::min(a, b)), high = static_cast<uint64_t>(std::max(a, b));
    return PartitionOfKey(low * 0x9e3779b97f4a7c15ULL ^ high);
  }
  // The key of a write that changes conversation `id`.
  WriteKey For(ConversationId id) const { return WriteKey(PartitionOf(id), id); }
  // The key of `sender`'s send to `id` under `client_msg_id`, replying to
  // `reply_to` (0: none).
  WriteKey ForSend(ConversationId id, UserId sender, std::string client_msg_id, Seq reply_to = 0) const {
    WriteKey key = For(id);
    key.sender = sender;
    key.client_msg_id = std::move(client_msg_id);
    key.reply_to = reply_to;
    return key;
  }

  // Runs `op` inside a write transaction on `key.partition`, possibly batched
  // with others. If `op` fails, only its own changes are undone. `done` gets
  // `op`'s status once the batch is durably committed (or the commit's error,
  // or `unavailable` when the write cannot be queued), on `ex`, with the
  // commit's turn: what must follow commit order (publishing) runs through it.
  void Write(WriteKey key, Executor& ex, std::function<Status(ConversationTxn&)> op,
             std::function<void(Status, CommitTurn)> done);
  // The same for accounts, sessions and presence settings, on partition 0.
  void WriteAccounts(Executor& ex, std::function<Status(AccountsTxn&)> op, std::function<void(Status)> done);

  // Typed writes: `fn(txn) -> Result<T>`; `done(Result<T>, CommitTurn)`, or
  // `done(Result<T>)` for accounts.
  template <class T, class Fn, class Done>
  void WriteResult(WriteKey key, Executor& ex, Fn fn, Done done);
  template <class T, class Fn, class Done>
  void WriteAccountsResult(Executor& ex, Fn fn, Done done);

  // Runs `fn(txn) -> Result<T>` in a read transaction (a consistent snapshot)
  // on a reader thread of `partition`; `done(Result<T>)` runs on `ex`. When the
  // read cannot be queued (the queue is full, or the store is stopping) `done`
  // gets `unavailable` and `fn` never runs. Reads still queued at shutdown get
  // neither.
  template <class T, class Fn, class Done>
  void ReadResult(int partition, Executor& ex, Fn fn, Done done);
  template <class T, class Fn, class Done>
  void ReadAccountsResult(Executor& ex, Fn fn, Done done);
  // Runs `fn(ConversationTxn&, partition) -> Result<T>` on every partition at
  // once; `done` gets each partition's result, in partition order, once all
  // answered.
  template <class T, class Fn, class Done>
  void ReadEach(Executor& ex, Fn fn, Done done);

  // Stops accepting work, finishes and commits what is queued.
  virtual void Shutdown() = 0;

  // Writes queued and not yet taken by a writer, on every partition, and how
  // long the one that has waited longest has waited (zero when none waits).
  virtual size_t QueuedWrites() const { return 0; }
  virtual std::chrono::steady_clock::duration OldestQueuedWrite() const { return {}; }

  // Asks the store to drop, soon, the old copies of overwritten rows its
  // files may still hold (after an erasure). The embedded store truncates its
  // write-ahead log at its next checkpoint; PostgreSQL leaves it to VACUUM.
  virtual void ForgetOverwritten() {}

  // Empty while writes commit; otherwise why the last batch of writes could
  // not (the storage is full, read-only, gone). /readyz reports it. Cleared
  // by the next batch that commits.
  std::string WriteTrouble() const {
    MutexLock lock(trouble_mu_);
    return trouble_;
  }

 protected:
  // Writers report each batch's outcome here (see WriteTrouble).
  void ReportBatch(const Status& outcome) {
    MutexLock lock(trouble_mu_);
    trouble_ = outcome.ok() ? std::string() : outcome.error().message;
  }

  // What an implementation does. `write.done`, `read.refused` and the reply a
  // read's op returns run on a store thread (or at once, when the work is
  // refused); the public methods
  // above move every result to the caller's executor.
  virtual void QueueWrite(int partition, QueuedWrite write) = 0;
  virtual void QueueRead(int partition, QueuedRead read) = 0;

 private:
  template <class T, class Fn, class Done, class Queue>
  void ReadOn(Executor& ex, Fn fn, Done done, Queue queue);

  mutable Mutex trouble_mu_;
  std::string trouble_ GUARDED_BY(trouble_mu_);
};

// How a read over every partition treats one that is down: the items of the
// partitions that answered, in partition order; the first error only when
// none answered (an instance that is down hides its own part, not the rest).
template <class T>
Result<std::vector<T>> JoinAnswered(std::vector<Result<std::vector<T>>> parts) {
  std::vector<T> all;
  std::optional<Error> failure;
  bool any = false;
  for (auto& part : parts) {
    if (!part.ok()) {
      if (!failure) failure = part.take_error();
      continue;
    }
    any = true;
    for (auto& item : *part) all.push_back(std::move(item));
  }
  if (!any && failure) return std::move(*failure);
  return all;
}

inline void Store::Write(WriteKey key, Executor& ex, std::function<Status(ConversationTxn&)> op,
                         std::function<void(Status, CommitTurn)> done) {
  QueuedWrite write;
  write.conversation = key.conversation;
  write.sender = key.sender;
  write.client_msg_id = std::move(key.client_msg_id);
  write.reply_to = key.reply_to;
  write.op = std::move(op);
  write.done = [&ex, done = std::move(done)](Status st, CommitTurn turn) mutable {
    ex.Post([done = std::move(done), st = std::move(st), turn = std::move(turn)]() mutable {
      done(std::move(st), std::move(turn));
    });
  };
  QueueWrite(key.partition, std::move(write));
}

inline void Store::WriteAccounts(Executor& ex, std::function<Status(AccountsTxn&)> op,
                                 std::function<void(Status)> done) {
  QueuedWrite write;
  write.accounts_op = std::move(op);
  // Accounts changes publish nothing that must follow commit order.
  write.done = [&ex, done = std::move(done)](Status st, const CommitTurn&) mutable {
    ex.Post([done = std::move(done), st = std::move(st)]() mutable { done(std::move(st)); });
  };
  QueueWrite(0, std::move(write));
}

// What a typed write produced: set by the op, read once the batch committed.
template <class T>
using ResultSlot = std::shared_ptr<std::optional<Result<T>>>;

// The op's result, unless the commit failed (which overrides its success).
template <class T>
Result<T> TakeCommitted(const ResultSlot<T>& slot, Status status) {
  std::optional<Result<T>>& value = *slot;
  if (!status.ok()) return Result<T>(status.take_error());
  if (!value) return Result<T>(Internal("transaction produced no result"));
  return std::move(*value);
}

template <class T, class Fn, class Done>
void Store::WriteResult(WriteKey key, Executor& ex, Fn fn, Done done) {
  auto slot = std::make_shared<std::optional<Result<T>>>();
  Write(
      key, ex,
      [fn = std::move(fn), slot](ConversationTxn& txn) -> Status {
        slot->emplace(fn(txn));
        if (!(*slot)->ok()) return (*slot)->error();
        return OkStatus();
      },
      [slot, done = std::move(done)](Status status, CommitTurn turn) mutable {
        done(TakeCommitted<T>(slot, std::move(status)), std::move(turn));
      });
}

template <class T, class Fn, class Done>
void Store::WriteAccountsResult(Executor& ex, Fn fn, Done done) {
  auto slot = std::make_shared<std::optional<Result<T>>>();
  WriteAccounts(
      ex,
      [fn = std::move(fn), slot](AccountsTxn& txn) -> Status {
        slot->emplace(fn(txn));
        if (!(*slot)->ok()) return (*slot)->error();
        return OkStatus();
      },
      [slot, done = std::move(done)](Status status) mutable { done(TakeCommitted<T>(slot, std::move(status))); });
}

// Queues a read whose answer (or refusal) reaches `done` on `ex`; `queue`
// queues the read `fn` becomes.
template <class T, class Fn, class Done, class Queue>
void Store::ReadOn(Executor& ex, Fn fn, Done done, Queue queue) {
  // One of the two callbacks runs, never both: they share `done`.
  auto shared = std::make_shared<Done>(std::move(done));
  auto answer = [&ex, shared](Result<T> r) {
    ex.Post([shared, r = std::move(r)]() mutable { (*shared)(std::move(r)); });
  };
  queue(
      [fn = std::move(fn), answer](auto& txn) mutable -> ReadReply {
        auto read = std::make_shared<Result<T>>(CatchingRead<T>(fn, txn));
        return [answer, read](bool durable) { answer(durable ? std::move(*read) : Result<T>(NotDurableError())); };
      },
      [answer](Error e) { answer(Result<T>(std::move(e))); });
}

template <class T, class Fn, class Done>
void Store::ReadResult(int partition, Executor& ex, Fn fn, Done done) {
  ReadOn<T>(ex, std::move(fn), std::move(done), [&](auto op, auto refused) {
    QueuedRead read;
    read.op = [op](ConversationTxn& txn) mutable { return op(txn); };
    read.refused = std::move(refused);
    QueueRead(partition, std::move(read));
  });
}

template <class T, class Fn, class Done>
void Store::ReadAccountsResult(Executor& ex, Fn fn, Done done) {
  ReadOn<T>(ex, std::move(fn), std::move(done), [&](auto op, auto refused) {
    QueuedRead read;
    read.accounts_op = [op](AccountsTxn& txn) mutable { return op(txn); };
    read.refused = std::move(refused);
    QueueRead(0, std::move(read));
  });
}

template <class T, class Fn, class Done>
void Store::ReadEach(Executor& ex, Fn fn, Done done) {
  struct Gather {
    Gather(Executor& e, Done d) : ex(e), done(std::move(d)) {}
    // Records partition `p`'s answer; the last one to answer hands them all on.
    void Answer(const std::shared_ptr<Gather>& self, int p, Result<T> r) {
      std::unique_lock lock(mu);
      results[p].emplace(std::move(r));
      if (--pending > 0) return;
      lock.unlock();
      ex.Post([self] {
        std::vector<Result<T>> all;
        all.reserve(self->results.size());
        for (auto& slot : self->results) all.push_back(std::move(*slot));
        self->done(std::move(all));
      });
    }
    Executor& ex;
    std::mutex mu;
    std::vector<std::optional<Result<T>>> results;
    int pending = 0;
    Done done;
  };
  int n = Partitions();
  auto gather = std::make_shared<Gather>(ex, std::move(done));
  gather->results.resize(n);
  gather->pending = n;
  for (int p = 0; p < n; ++p) {
    QueuedRead read;
    read.op = [fn, gather, p](ConversationTxn& txn) -> ReadReply {
      auto on_partition = [&](ConversationTxn& t) { return fn(t, p); };
      auto read = std::make_shared<Result<T>>(CatchingRead<T>(on_partition, txn));
      return [gather, p, read](bool durable) {
        gather->Answer(gather, p, durable ? std::move(*read) : Result<T>(NotDurableError()));
      };
    };
    read.refused = [gather, p](Error e) { gather->Answer(gather, p, Result<T>(std::move(e))); };
    QueueRead(p, std::move(read));
  }
}

// Opens the embedded SQLite store in `dir` (created if absent), applying
// migrations. Throws std::runtime_error when the database cannot be opened.
struct SqliteOptions {
  std::string path;
  int reader_threads = 2;
  int max_batch = 512;
  size_t max_queued_writes = 100000;
  // Reads waiting for a reader thread; past it a read answers `unavailable`.
  size_t max_queued_reads = 10000;
  // The write-ahead log's bound: past it the writer restarts the log between
  // two batches (what passive checkpoints copied need not be copied again),
  // and a restarted log file is cut back to this size.
  int64_t wal_limit_bytes = 64LL << 20;
  // Learns each batch the writer ran: its operations and how long it took
  // (microseconds). On the writer thread: it must be quick (metrics).
  std::function<void(size_t ops, int64_t us)> on_commit = nullptr;
  // Learns how long each sync of the write-ahead log took (microseconds). On
  // the syncer thread: it must be quick (metrics).
  std::function<void(int64_t us)> on_sync = nullptr;
  // Makes what was written to the write-ahead log durable, and says whether
  // it did. Empty: fdatasync on the log file. Tests replace it to hold or
  // fail syncs.
  std::function<bool()> sync_log = nullptr;
};
std::unique_ptr<Store> OpenSqliteStore(const SqliteOptions& options);

// Opens the PostgreSQL store over `instances` (libpq connection strings, in a
// fixed order: the order decides where conversations live), applying
// migrations on each. Throws std::runtime_error when one cannot be reached or
// migrated at start.
struct PostgresOptions {
  std::vector<std::string> instances;
  // Per instance. Writers commit batches side by side: PostgreSQL flushes
  // their commits together, and batches lock the rows they change in one order
  // (the rare deadlock left, through rows not locked ahead, is run again).
  int writer_threads = 2;
  int reader_threads = 2;
  // A batch run again with savepoints makes each operation a
  // subtransaction; past 64 PostgreSQL's snapshots slow down for everyone.
  int max_batch = 60;
  size_t max_queued_writes = 100000;
  size_t max_queued_reads = 10000;  // per instance
  // As SqliteOptions::on_commit, on every writer thread.
  std::function<void(size_t ops, int64_t us)> on_commit = nullptr;
};
std::unique_ptr<Store> OpenPostgresStore(const PostgresOptions& options);

}  // namespace natter
