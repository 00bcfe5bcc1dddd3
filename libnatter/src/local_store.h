// The client's local store (SQLite, one file per profile): the account and
// its tokens, conversations, the timeline entries the client has, receipts,
// the sync token, and the outbox. The UI reads from here, so it works offline.
// A corrupt or missing file is replaced by an empty one (the next sync fills it).
//
// Thread-safety: not thread-safe; used on the client's thread only.
#pragma once

#include <boost/json/object.hpp>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "server_frames.h"
#include "store/sqlite/sqlite_db.h"

namespace natter::client {

// A file attached to a send: uploaded first (client_uploads.cc), then named
// in the message. Every step of its upload is kept, so an upload resumes
// where it was after a crash or a restart.
struct OutboxFile {
  int index = 0;  // its place among the message's attachments
  std::string path;
  std::string mime;
  std::string filename;
  std::string caption;
  int64_t size = 0;
  int64_t media_id = 0;    // once the server recorded the upload
  std::string upload_url;  // tus: where its bytes go; "" when they go to an object store in parts
  std::string etags;       // object store: the ETags of the parts sent, a JSON array
  bool ready = false;      // uploaded and processed: the message may name it
  // A video's poster frame: the index of the video this image is the thumb
  // of (it is named with it, not as an attachment of its own); -1 otherwise.
  int thumb_of = -1;
  // Encrypted conversations: what the message says of the file inside its
  // ciphertext (a JSON object: key, digest, mime, filename, size, caption),
  // while `path` is the sealed copy that goes up; "" otherwise.
  std::string sealed = {};
};

struct OutboxEntry {
  std::string client_msg_id;
  int64_t conversation_id = 0;
  std::string text;
  std::optional<int64_t> reply_to;
  std::string state;  // pending, sent, failed
  int64_t seq = 0;    // once sent
  std::string error;  // why it failed
  std::vector<OutboxFile> files = {};
};

class LocalStore {
 public:
  explicit LocalStore(const std::string& directory);

  // Many changes written as one (one sync to disk instead of one each):
  // committed by Commit, rolled back if it is never called.
  class Batch {
   public:
    explicit Batch(LocalStore& store);
    ~Batch();
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;
    void Commit();

   private:
    LocalStore& store_;
    bool open_ = true;
  };

  // Key-value settings: tokens, user id, sync token.
  std::optional<std::string> Get(const std::string& key);
  void Put(const std::string& key, const std::string& value);
  void Erase(const std::string& key);
  void ErasePrefix(const std::string& prefix);  // every key that starts with it
  // Forgets everything but the outbox and the entries of encrypted
  // conversations (after a resync).
  void ClearSyncedState();
  void ClearAll();

  void UpsertConversation(const boost::json::object& conversation, const std::string& my_role);
  void RemoveConversation(int64_t id);
  boost::json::array Conversations(int64_t me);

  // Applies one timeline entry (message or event): idempotent by (conversation, seq).
  void ApplyEntry(const boost::json::object& entry);
  boost::json::array History(int64_t conversation_id, std::optional<int64_t> before, int limit);

  // Retention: drops all but the newest `keep` entries of each conversation
  // (of one when `conversation_id` is set; keep 0: no count limit) and those
  // created before `created_before_ms` (0: no age limit) except each
  // conversation's newest message; then my sent messages whose entries went,
  // and gives the freed pages back to the file system.
  void Compact(int64_t keep, int64_t created_before_ms, std::optional<int64_t> conversation_id = std::nullopt);

  void SetReceipt(int64_t conversation_id, int64_t user_id, int64_t delivered, int64_t read);
  bool HasConversation(int64_t conversation_id);
  bool HasEntry(int64_t conversation_id, int64_t seq);
  // The entry as it was applied here (for an encrypted one, as decrypted).
  std::optional<boost::json::object> FindEntry(int64_t conversation_id, int64_t seq);
  bool IsEncrypted(int64_t conversation_id);
  std::string Kind(int64_t conversation_id);  // direct, group, channel; "" when not known here
  // The newest seq this device knows of in the conversation (0: none).
  int64_t LastKnownSeq(int64_t conversation_id);
  // The members as the server last listed them (roles and watermarks).
  void ReplaceMembers(int64_t conversation_id, const std::vector<Member>& members);
  // A change to the list: members added or with a new role; users gone.
  void UpsertMembers(int64_t conversation_id, const std::vector<Member>& members);
  void RemoveMembers(int64_t conversation_id, const std::vector<int64_t>& user_ids);
  boost::json::array Members(int64_t conversation_id);
  // The highest delivered and read watermark of anyone but `me`.
  std::pair<int64_t, int64_t> OthersWatermarks(int64_t conversation_id, int64_t me);

  // Users looked up, for names offline (the last answer for each id; a
  // handle taken by another id moves to it).
  void RememberUser(int64_t user_id, const std::string& handle);
  // By id, else by handle: (user_id, handle).
  std::optional<std::pair<int64_t, std::string>> FindUser(std::optional<int64_t> user_id,
                                                          const std::optional<std::string>& handle);

  void AddToOutbox(const OutboxEntry& e);
  std::vector<OutboxEntry> PendingOutbox();
  std::optional<OutboxEntry> FindOutbox(const std::string& client_msg_id);
  void MarkSent(const std::string& client_msg_id, int64_t seq);
  void MarkFailed(const std::string& client_msg_id, const std::string& error);
  // Sent messages of mine in a conversation, with seqs, for receipt states.
  std::vector<OutboxEntry> SentIn(int64_t conversation_id);
  // The upload of an outbox entry's file (local_store_files.cc).
  void SetUploadTarget(const std::string& client_msg_id, int index, int64_t media_id, const std::string& upload_url);
  void SetUploadEtags(const std::string& client_msg_id, int index, const std::string& etags);
  void MarkFileReady(const std::string& client_msg_id, int index);
  // Every file of the entry is to be checked again before it is named.
  void MarkFilesUnready(const std::string& client_msg_id);
  // The server forgot the upload (it expired): it starts again.
  void ResetUpload(const std::string& client_msg_id, int index);

 private:
  void Open(const std::string& path);
  void AddFiles(const OutboxEntry& e);
  void LoadFiles(OutboxEntry& e);
  std::string path_;
  std::unique_ptr<sqlite::Database> db_;
  // encrypted_conversations in memory, read on first use: every message,
  // edit and reaction applied asks. Dropped (read again) when a batch that
  // may have added to it rolls back.
  std::optional<std::unordered_set<int64_t>> encrypted_;
};

}  // namespace natter::client
