// A frame as a hostile or broken server may send it to libnatter: decoded
// into a type or a BadFrame (never an exception), and the data of an answer
// through every reader the client core uses on answers. What decodes holds
// what the client core relies on.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "server_frames.h"

namespace nc = natter::client;

namespace {

void CheckEntry(const nc::Entry& e) {
  if (e.conversation_id < 1 || e.seq < 1 || e.kind.empty()) __builtin_trap();
  if (e.fields.contains("pts") || e.fields.contains("duplicate")) __builtin_trap();
}

void CheckMembers(const std::vector<nc::Member>& members) {
  for (const auto& m : members) {
    if (m.user_id < 1 || m.delivered_seq < 0 || m.read_seq < 0) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nc::ServerFrame frame = nc::DecodeServerFrame(std::string_view(reinterpret_cast<const char*>(data), size));
  if (auto* bad = std::get_if<nc::BadFrame>(&frame); bad && bad->why.empty()) __builtin_trap();
  if (auto* m = std::get_if<nc::MessageFrame>(&frame)) CheckEntry(m->entry);
  if (auto* c = std::get_if<nc::ConversationFrame>(&frame)) {
    if (c->conversation.id < 1) __builtin_trap();
    if (c->members_changed) CheckMembers(*c->members_changed);
  }
  if (auto* s = std::get_if<nc::SyncConversationFrame>(&frame); s && !s->removed) {
    if (s->conversation.id != s->conversation_id) __builtin_trap();
    CheckMembers(s->members);
    for (const auto& e : s->events) {
      CheckEntry(e);
      if (e.conversation_id != s->conversation_id) __builtin_trap();
    }
  }
  if (auto* reply = std::get_if<nc::ReplyFrame>(&frame)) {
    std::string why;
    if (!nc::DecodeSyncAnswer(reply->data, why) && why.empty()) __builtin_trap();
    why.clear();
    if (auto e = nc::DecodeEntry(reply->data, why)) CheckEntry(*e);
    why.clear();
    if (auto page = nc::DecodeHistory(reply->data, why)) {
      for (const auto& e : *page) CheckEntry(e);
    }
    why.clear();
    if (auto c = nc::DecodeConversation(reply->data, why); c && c->members) CheckMembers(*c->members);
  }
  return 0;
}
