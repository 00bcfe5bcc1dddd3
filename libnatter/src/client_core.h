// The client core behind Client and the C API: one thread owns all state
// (connection, local store, outbox, sync); requests arrive by post, events
// leave through a queue or the app's callback.
//
// Thread-safety: Send/Receive from any thread; everything else runs on the
// client's thread, which never waits on the network: every network step is
// asynchronous and bounded by the endpoint's timeout.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "end_to_end.h"
#include "http_call.h"
#include "local_store.h"
#include "natter/client.h"
#include "sealed_content.h"
#include "server_endpoint.h"
#include "server_frames.h"
#include "ws_connection.h"

namespace natter::client {

// Errors that retrying will not fix: the message is marked failed with the reason.
bool Permanent(const std::string& code);

class ClientCore final : public Client {
 public:
  explicit ClientCore(ClientOptions options);
  ~ClientCore() override;

  void Send(std::string request_json) override;
  std::optional<std::string> Receive(std::chrono::milliseconds timeout) override;

 private:
  using Json = boost::json::object;
  using ServerReply = std::function<void(const ReplyFrame& reply)>;

  // Requests from the app, in the order they came: while a login is under
  // way the ones after it wait for its answer (a send right after a login
  // is the logged-in user's).
  void Handle(const Json& request);
  void ReleaseHeld();
  void Register(const Json& req);
  void Login(const Json& req);
  void OnLoginAnswer(const Json& req, const HttpAnswer& answer);
  void StoreTokens(const Tokens& tokens);
  // Forgets the account's data here (logout, or a login as someone else).
  void ForgetAccount();
  // Gone from my conversations (left, removed): here too, and the app is told.
  void DropConversation(int64_t id);
  // A register or login answer that is not a success, as an error event.
  void FailHttp(const Json& req, const HttpAnswer& answer);
  void Logout(const Json& req);
  void SendMessage(const Json& req);
  void GetHistory(const Json& req);
  void MarkRead(const Json& req);
  void Forward(const Json& req, const std::string& method);  // online-only calls
  void GetUser(const Json& req);
  // Push (client_push.cc): the device's token, kept here and registered again
  // on every connection, and what a push payload names.
  void RegisterPushToken(const Json& req);
  void UnregisterPushToken(const Json& req);
  void ReadPush(const Json& req);
  void SyncPushRegistration();  // once caught up: what the app asked for while offline
  void Answer(const Json& req, Json data);
  void Fail(const Json& req, const std::string& code, const std::string& message);

  // Connection.
  void Connect();
  void OnOpened(WsOpened opened);
  void OnConnected();
  // Forgets a connection attempt under way (logout, new login, background).
  void AbandonConnect();
  void ScheduleReconnect(const std::string& why);
  void Disconnected(const std::string& why);
  void ReadNext();
  // Frames from the server, decoded (server_frames.h): one handler a type.
  void OnFrame(const ServerFrame& frame);
  void On(const BadFrame& f);
  void On(const ReplyFrame& f);
  void On(const MessageFrame& f);
  void On(const ReceiptFrame& f);
  void On(const ConversationFrame& f);
  void On(const SyncConversationFrame& f);
  void On(const ResyncFrame& f);
  void On(const NoticeFrame& f);
  void On(const UnknownFrame& f);
  // An answer whose data lacks what it needs, told to the app as bad_frame.
  void ReportBadAnswer(const std::string& method, const std::string& why);
  void Call(Json request, ServerReply reply);  // a request on the socket, answered by id
  // Ends the connection when the answer to `id` does not come and the server
  // sends nothing else either for three times the timeout.
  void AwaitAnswer(const std::shared_ptr<boost::asio::steady_timer>& deadline, const std::string& id,
                   const std::string& type);
  void WriteNext();
  // Refreshes the access token when it is close to expiry (or `force`), then
  // calls `then`. One refresh at a time: the refresh token rotates, and using
  // it twice would end the session.
  enum class Token { kFresh, kUnreachable, kEnded };
  void WithFreshToken(bool force, std::function<void(Token, const std::string& why)> then);
  void RefreshSoon();

  // Sync and outbox.
  void StartSync();
  void SyncEnded();  // runs a sync asked for while one was under way
  // An entry from the server: opened first when encrypted (client_opening.cc).
  void ApplyEntry(const Entry& entry, bool live, bool from_history = false);
  void ApplyOpened(const Entry& entry, bool live, bool from_history);
  // Retention (ClientOptions::keep_messages, keep_days): of one conversation, or all.
  void Compact(std::optional<int64_t> conversation_id);
  void ApplyReceipt(int64_t conversation_id, int64_t user_id, int64_t delivered, int64_t read, bool live);
  void FlushOutbox();
  void SendFromOutbox(const OutboxEntry& e);
  // How long before the next try of outbox entry `id` (its upload or its
  // send): doubling from 1 s to 30 s, with jitter, so phones that lost the
  // server do not all come back at once. Reset by progress.
  std::chrono::milliseconds RetryDelay(const std::string& id);
  // Runs `then` after RetryDelay(id) unless the client is offline by then
  // (a reconnect flushes the outbox anyway).
  void RetryLater(const std::string& id, std::function<void()> then);
  // A send's `files` ([{path, mime, caption}]) checked and added to `e`;
  // false with `why` when one cannot be sent.
  bool AttachFiles(const Json& req, OutboxEntry& e, std::string& why);

  // Uploads (client_uploads.cc): the files of `e`, one step at a time.
  void UploadFiles(const OutboxEntry& e);
  void UploadStep(const std::string& client_msg_id);
  void UploadLater(const std::string& client_msg_id);
  void UploadFailed(const OutboxEntry& e, const std::string& code, const std::string& reason);
  void UploadProgress(const OutboxEntry& e, const OutboxFile& f, int64_t sent);
  void FileReady(const OutboxEntry& e, const OutboxFile& f);
  void CreateUpload(const OutboxEntry& e, const OutboxFile& f);
  void WithAuth(const std::string& client_msg_id, bool refused, std::function<void(const std::string& token)> then);
  // Whether the server finished processing an upload whose bytes are all in.
  void CheckReady(const OutboxEntry& e, const OutboxFile& f);
  void ResumeTus(const OutboxEntry& e, const OutboxFile& f, bool refused = false);
  void Patch(const OutboxEntry& e, const OutboxFile& f, int64_t offset);
  void SendParts(const OutboxEntry& e, const OutboxFile& f);
  // Blocks (client_blocks.cc): the list, kept locally; `blocked_sender` on
  // the messages of those in it.
  boost::json::array BlockedList();
  void LoadBlocked();
  // Keeps the server's list; tells the app (`blocked_users`) when it changed.
  void StoreBlocked(const boost::json::array& list);
  void FlagBlocked(Json& entry) const;
  boost::json::array FlagBlocked(boost::json::array entries) const;
  void RefreshBlocks();
  void BlockUser(const Json& req, bool blocked);
  // Invitations (client_invitations.cc): the list the server keeps, handed
  // to the app after each sync.
  void RefreshInvitations();
  // Operator calls (client_admin.cc).
  void AdminRequest(const Json& req);
  // Downloads (client_downloads.cc): an attachment's variant into the media
  // cache, which keeps only what the local store's entries still name.
  void DownloadAttachment(const Json& req);
  void PruneMediaCache(bool everything);
  std::string MediaCachePath(int64_t conversation_id, int64_t seq, int64_t media_id, const std::string& variant);
  // Where a presigned URL points: the object store, and the request target.
  std::optional<ServerEndpoint> ObjectStore(const std::string& url, std::string& target);
  void UpdateOutgoingStates(int64_t conversation_id);
  // Tells the server what reached this device (delivered watermarks).
  void AckDelivered();

  // End-to-end encryption (docs/e2ee.md). A server session that publishes
  // keys is a device: each login starts a new identity.
  // client_keys.cc: this device's keys and what it knows of others'.
  void OpenKeys();
  void ForgetKeys();
  // Once caught up, before the outbox goes: this session's device, its
  // one-time prekeys topped up and its signed prekey renewed weekly.
  void PublishKeys(std::function<void()> then);
  void PublishMorePreKeys();
  void RenewSignedPreKey();
  void NoteDevices(const Json& fields);  // a `devices` event or a devices.list answer
  void GetSafetyNumber(const Json& req);
  int64_t KvInt(const std::string& key, int64_t fallback);
  // The name of my own sender key for a group; NewOwnKey makes a new one
  // (after a member left), which goes again to every device.
  std::string OwnKeyGroup(int64_t conversation);
  void NewOwnKey(int64_t conversation);
  // Whether `device` has my current sender key for the group.
  std::string GivenKey(int64_t conversation, const DeviceRef& device);
  void ForgetGivenKeys(const DeviceRef& device);
  bool KnownUser(int64_t user_id);
  // A session with `device` began: a new device of a user met before is an
  // identity change (their safety number is new).
  void MeetDevice(const DeviceRef& device, bool identity_was_known);
  DeviceRef Self() const { return {user_id_, device_id_}; }
  // client_sealing.cc: a request to an encrypted conversation with
  // `content` sealed for every device of its members, queued behind the
  // others; a stale device list is taken from the answer and the request
  // resent, up to three times.
  void SealedCall(Json request, std::string content, ServerReply reply);
  void PumpSealing();
  void SealStep(Json request, std::string content, int round, ServerReply done);
  void TakeDeviceLists(int64_t conversation, const boost::json::value& details);
  // An edit or reaction in an encrypted conversation.
  void SealedForward(const Json& req, const std::string& method);
  // A send's files for an encrypted conversation: each sealed into a copy
  // that goes up instead (attachment_cipher.h), its key kept in the outbox.
  bool SealFiles(OutboxEntry& e, std::string& why);
  boost::json::array SealedAttachments(const OutboxEntry& e);  // what the message says of them
  void DropSealedFiles(const OutboxEntry& e);                  // sent or failed: the copies go
  // The device lists of `users` this client lacks, then `then`.
  void WithDevices(const std::set<int64_t>& users, std::function<void()> then);
  // Sessions with every device in `devices` (started from claimed
  // bundles), then `then` with the first failure, if any.
  void WithSessions(const std::vector<DeviceRef>& devices, std::function<void(std::optional<ReplyFrame>)> then);
  // Requests on the socket, all answered (in order) before `then`.
  void CallAll(std::vector<Json> requests, std::function<void(std::vector<ReplyFrame>)> then);
  // client_opening.cc: an entry as this device reads it, an encrypted one
  // decrypted (once: one seen before is taken from the local store), with
  // `encrypted` true; failures are told unless it is from a history page.
  Entry Opened(const Entry& entry, bool live, bool from_history);
  // What this device read of an entry before, kept over what came now.
  static void KeepKnown(Json& fields, const Json& known);
  // A message this device sent, as it reads it: what its outbox entry says.
  Entry OwnSealed(const Entry& entry, const OutboxEntry& sent);

  void Emit(const Json& event);
  void SetConnectionState(const std::string& state, const std::string& reason = "");

  ClientOptions options_;
  ServerEndpoint server_;
  boost::asio::io_context ioc_;
  std::unique_ptr<LocalStore> store_;
  std::shared_ptr<WsConnection> ws_;
  boost::asio::steady_timer reconnect_timer_{ioc_};
  boost::asio::steady_timer refresh_timer_{ioc_};
  std::deque<std::string> writes_;
  bool writing_ = false;
  bool connecting_ = false;
  uint64_t connect_attempt_ = 0;  // which attempt's completion is still wanted
  uint64_t session_ = 0;          // bumped by login and logout: older token answers are stale
  bool refreshing_ = false;
  bool logging_in_ = false;
  std::deque<Json> held_;  // requests that came during a login
  std::vector<std::function<void(Token, const std::string&)>> after_refresh_;
  bool ready_ = false;  // authenticated and caught up
  bool syncing_ = false;
  bool sync_again_ = false;
  int sync_restarts_ = 0;  // on this connection
  bool stopping_ = false;
  int attempt_ = 0;
  uint64_t next_id_ = 1;
  struct Pending {
    ServerReply reply;
    std::shared_ptr<boost::asio::steady_timer> deadline;  // no answer by then: the connection is dead
  };
  std::map<std::string, Pending> pending_;
  std::chrono::steady_clock::time_point last_heard_;  // the last frame from the server
  // conversation -> seq -> the last state told of my message there
  std::map<int64_t, std::map<int64_t, std::string>> reported_state_;
  std::map<int64_t, int64_t> since_compaction_;  // conversation -> entries applied since its last compaction
  std::map<int64_t, int64_t> to_ack_;            // conversation -> highest seq received, not yet acked
  std::set<std::string> sending_;                // outbox entries on the wire, awaiting their answer
  std::set<std::string> uploading_;              // outbox entries whose files are going up
  std::map<int64_t, Json> parts_;                // media id -> the object store's part URLs (media.create, media.parts)
  std::map<std::string, int> retries_;           // outbox entry -> tries since its last progress
  std::set<std::string> rechecked_;              // outbox entries whose uploads were looked at again once
  std::set<int64_t> blocked_;                    // whom this user blocked (the local store's list)
  std::string connection_state_;
  int64_t user_id_ = 0;
  std::unique_ptr<EndToEnd> e2ee_;  // null: no device key, or it could not open (e2ee_why_)
  std::string e2ee_why_;
  int64_t device_id_ = 0;                                // this session's device, once published
  bool keys_lost_ = false;                               // keys.db was made anew under a published device
  std::map<int64_t, std::set<int64_t>> devices_;         // user -> their devices, as last heard
  std::map<int64_t, std::set<int64_t>> also_addressed_;  // conversation -> members a stale answer named
  std::deque<std::function<void()>> sealing_queue_;      // encrypted requests waiting their turn
  bool sealing_ = false;
  std::map<DeviceRef, std::chrono::steady_clock::time_point> last_reset_;  // sessions ended after failures
  std::mt19937_64 rng_{std::random_device{}()};

  std::mutex events_mu_;
  std::condition_variable events_cv_;
  std::deque<std::string> events_;
  std::thread thread_;
};

}  // namespace natter::client
