// What natterd sends, decoded into types before the client core acts on it.
// A frame that is not JSON, lacks a field its type needs, or carries the
// wrong kind of value decodes to a BadFrame saying what is wrong: nothing
// here throws, and nothing after it reads a field that was not checked.
//
// Thread-safety: pure functions.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace natter::client {

// A timeline entry: a message, or an event (edit, delete, reaction, ...).
struct Entry {
  int64_t conversation_id = 0;
  int64_t seq = 0;
  int64_t sender_id = 0;
  std::string kind;
  std::string client_msg_id;
  boost::json::object fields;  // all of it (checked), less the server's bookkeeping (pts, duplicate)
};

struct Member {
  int64_t user_id = 0;
  std::string role;
  int64_t delivered_seq = 0;
  int64_t read_seq = 0;
};

struct Conversation {
  int64_t id = 0;
  bool large = false;
  boost::json::object fields;                  // as the server sent it (checked), for the store and the app
  std::optional<std::vector<Member>> members;  // when the server listed them
};

// Frames.
struct ReplyFrame {  // "result" or "error", answering the request with this id
  std::string id;
  bool ok = false;
  boost::json::value data;  // result: checked by whoever asked (Decode* below)
  std::string code, message;
  boost::json::value details;  // error: what the client needs to act on it (stale_devices), or null
};
struct MessageFrame {
  Entry entry;
};
struct ReceiptFrame {
  int64_t conversation_id = 0, user_id = 0, delivered_seq = 0, read_seq = 0;
};
struct ConversationFrame {
  Conversation conversation;
  std::optional<std::vector<Member>> members_changed;
  std::vector<int64_t> members_removed;
};
struct SyncConversationFrame {
  int64_t conversation_id = 0;
  bool removed = false;  // the rest is empty then
  Conversation conversation;
  std::string my_role;
  std::vector<Member> members;  // every member, or only me in a large conversation
  std::vector<Entry> events;
};
struct ResyncFrame {};
struct NoticeFrame {  // typing, presence and invitations: passed to the app as they came
  std::string type;
  boost::json::object fields;
};
struct UnknownFrame {  // a type from a newer server: ignored
  std::string type;
};
struct BadFrame {
  std::string type;  // as far as it could be read
  std::string why;
};

using ServerFrame = std::variant<ReplyFrame, MessageFrame, ReceiptFrame, ConversationFrame, SyncConversationFrame,
                                 ResyncFrame, NoticeFrame, UnknownFrame, BadFrame>;

ServerFrame DecodeServerFrame(std::string_view text);

// The data of the answers the client core asks for. `why` says what is wrong
// when they return nullopt.
struct SyncAnswer {
  bool resync_required = false;
  std::string token;
  bool more = false;
  int64_t conversations = 0;
};
std::optional<SyncAnswer> DecodeSyncAnswer(const boost::json::value& data, std::string& why);
std::optional<Entry> DecodeEntry(const boost::json::value& data, std::string& why);
// messages.history: {"messages": [entries]}.
std::optional<std::vector<Entry>> DecodeHistory(const boost::json::value& data, std::string& why);
std::optional<Conversation> DecodeConversation(const boost::json::value& data, std::string& why);
// The answer to login (with user_id) or refresh (without).
struct Tokens {
  int64_t user_id = 0;
  std::string access_token, refresh_token;
  int64_t access_expires_at = 0;  // seconds
};
std::optional<Tokens> DecodeTokens(const boost::json::value& data, std::string& why);

}  // namespace natter::client
