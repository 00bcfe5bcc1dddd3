// Encrypted entries as they arrive in the client core (docs/e2ee.md): each
// ciphertext is decrypted once and its text kept in the local store; what
// cannot be read is marked, told to the app and, where a session is broken,
// repaired by starting a new one. In an encrypted conversation nothing
// plain is taken for a message: a server cannot speak for a member.
#include <set>

#include "client_core.h"
#include "common/json_lookup.h"

namespace natter::client {

namespace json = boost::json;
using json_lookup::Int;
using json_lookup::Str;

namespace {

constexpr int64_t kPreKeyMessage = 3;  // a ciphertext that starts a session
// How far the server's clock (an entry's created_at) may be from this one.
constexpr int64_t kClockSlackMs = 10 * 60 * 1000;
constexpr auto kResetEvery = std::chrono::minutes(1);

// The type of the envelope addressed to `me` in an entry's `encrypted`; 0: none.
int64_t MyEnvelopeType(const json::object& sealed, const DeviceRef& me) {
  if (me.device_id == 0) return 0;
  if (const auto* list = sealed.if_contains("envelopes"); list && list->is_array()) {
    for (const auto& e : list->get_array()) {
      const auto* o = e.if_object();
      if (o && Int(*o, "user_id") == me.user_id && Int(*o, "device_id") == me.device_id) return Int(*o, "type", -1);
    }
  }
  return 0;
}

// Kinds whose content an encrypted conversation carries only as ciphertext.
bool SealedKind(const std::string& kind) { return kind == "message" || kind == "edit" || kind == "reaction"; }

// A message's files as the app sees them: what its ciphertext says of each
// (with the key and digest its download is opened with), under the upload's
// id. Nullopt when it names an upload the entry does not attach: a server
// that swapped the files. (`fields` null: this device's own, from its outbox.)
std::optional<json::array> FilesOf(const json::array& sealed, const json::object* fields) {
  std::set<int64_t> attached;
  const auto* list = fields ? fields->if_contains("attachments") : nullptr;
  if (list && list->is_array()) {
    for (const auto& a : list->get_array()) {
      if (const auto* o = a.if_object()) attached.insert(Int(*o, "id"));
    }
  }
  json::array out;
  for (const auto& s : sealed) {
    const auto& o = s.as_object();
    if (fields && !attached.count(Int(o, "media_id"))) return std::nullopt;
    json::object file = o;
    file.erase("media_id");
    file["id"] = Int(o, "media_id");
    file["encrypted"] = true;
    out.push_back(std::move(file));
  }
  return out;
}

// Marks that may read differently next time (nothing was decrypted).
bool MayReadLater(const std::string& code) {
  return code == "unavailable" || code == "not_for_this_device" || code == "no_keys";
}

}  // namespace

void ClientCore::ApplyEntry(const Entry& entry, bool live, bool from_history) {
  if (const auto* sealed = entry.fields.if_contains("encrypted"); sealed && sealed->is_object()) {
    return ApplyOpened(Opened(entry, live, from_history), live, from_history);
  }
  if (SealedKind(entry.kind) && store_->IsEncrypted(entry.conversation_id)) {
    // Nothing plain is a member's word here: text, files and reaction
    // counts can only have come from the server.
    Entry forged = entry;
    for (const char* k : {"text", "attachments", "reactions"}) forged.fields.erase(k);
    if (json_lookup::Bool(entry.fields, "deleted")) return ApplyOpened(forged, live, from_history);
    forged.fields["encrypted"] = true;
    if (auto known = store_->FindEntry(entry.conversation_id, entry.seq); known && known->contains("encrypted")) {
      KeepKnown(forged.fields, *known);  // read before: a plain copy changes nothing
      return ApplyOpened(forged, live, from_history);
    }
    forged.fields["undecryptable"] = "not_encrypted";
    if (!from_history) {
      Emit({{"@type", "decryption_failed"},
            {"conversation_id", entry.conversation_id},
            {"seq", entry.seq},
            {"sender_id", entry.sender_id},
            {"device_id", 0},
            {"code", "not_encrypted"},
            {"message", "plain content in an encrypted conversation: not from a member's device"}});
    }
    return ApplyOpened(forged, live, from_history);
  }
  ApplyOpened(entry, live, from_history);
}

void ClientCore::KeepKnown(Json& fields, const Json& known) {
  for (const char* k : {"text", "attachments", "undecryptable", "edited_at"}) {
    fields.erase(k);
    if (const auto* v = known.if_contains(k)) fields[k] = *v;
  }
}

Entry ClientCore::OwnSealed(const Entry& entry, const OutboxEntry& sent) {
  Entry out = entry;
  out.fields["encrypted"] = true;
  out.fields["text"] = sent.text;
  out.fields.erase("attachments");
  out.fields.erase("undecryptable");
  if (auto files = FilesOf(SealedAttachments(sent), nullptr); files && !files->empty()) {
    out.fields["attachments"] = std::move(*files);
  }
  return out;
}

Entry ClientCore::Opened(const Entry& entry, bool live, bool from_history) {
  Entry out = entry;
  json::object& f = out.fields;
  json::object sealed = f["encrypted"].as_object();
  f["encrypted"] = true;
  f.erase("text");
  f.erase("attachments");  // ciphertext uploads: what they are is inside the message
  DeviceRef sender{entry.sender_id, Int(sealed, "device_id")};
  // A ciphertext decrypts once: seen before (live, then in a sync), it is what it was then.
  // A mark from before that may read now (a key came since); as it was if not.
  std::optional<Json> earlier;
  if (auto known = store_->FindEntry(entry.conversation_id, entry.seq); known && known->contains("encrypted")) {
    if (!MayReadLater(Str(*known, "undecryptable"))) {
      KeepKnown(f, *known);
      return out;
    }
    earlier = std::move(*known);
  }
  if (sender == Self() && device_id_ != 0) {
    // Sent from this device, which has no envelope of its own: the outbox says what.
    auto sent = entry.client_msg_id.empty() ? std::nullopt : store_->FindOutbox(entry.client_msg_id);
    if (sent && entry.kind == "message") {
      out = OwnSealed(entry, *sent);
    } else {
      f["undecryptable"] = "sent_from_this_device";
    }
    return out;
  }
  if (!e2ee_) {
    f["undecryptable"] = "no_keys";
    return out;
  }
  int64_t my_type = MyEnvelopeType(sealed, Self());
  if (my_type == 0 && Str(sealed, "body").empty()) {
    // Sent before this device existed, or to another of my devices only.
    f["undecryptable"] = "not_for_this_device";
    return out;
  }
  bool identity_known = e2ee_->KnownIdentity(sender).has_value();
  auto plain = e2ee_->Decrypt(std::to_string(entry.conversation_id), entry.sender_id, Self(), sealed);
  Result<SealedBody> text = plain.ok() ? OpenContent(*plain, PlaceOf(entry)) : Result<SealedBody>(plain.error());
  std::optional<json::array> files;
  if (text.ok()) {
    files = FilesOf(text->attachments, &entry.fields);
    if (!files) text = BadRequest("the message names files it does not attach");
  }
  if (text.ok() && entry.kind == "edit") {
    // Only its author edits a message: a member cannot seal an edit of another's.
    auto target = store_->FindEntry(entry.conversation_id, Int(entry.fields, "target_seq"));
    if (target && Int(*target, "sender_id") != entry.sender_id)
      text = BadRequest("an edit of another member's message");
  }
  if (text.ok()) {
    f["text"] = std::move(text->text);
    if (!files->empty()) f["attachments"] = std::move(*files);
    // Edited meanwhile (its edit read first): the edit's text stands.
    if (earlier && earlier->contains("edited_at")) {
      f["text"] = (*earlier)["text"];
      f["edited_at"] = (*earlier)["edited_at"];
    }
    if (my_type != 0) MeetDevice(sender, identity_known);
    // A session the sender's device started anew (it lost its state, or
    // answers a failure of ours): it has none of my sender keys any more.
    if (my_type == kPreKeyMessage) ForgetGivenKeys(sender);
    return out;
  }
  std::string code(ErrorCodeName(text.error().code));
  if (earlier) {
    // Tried again, still unread: as it was (told, and repaired, the first time).
    KeepKnown(f, *earlier);
    return out;
  }
  if (my_type == 0 && code == "not_found") {
    // A group message whose sender never gave this device its key: sent
    // before this device existed (a first catch-up, history), or the
    // message that carried the key was lost. Live, or in a catch-up and
    // well after this device published, it was meant for it: a failure to repair.
    code = "not_for_this_device";
    bool after_publishing =
        Int(entry.fields, "created_at") > KvInt("e2ee_published_at", INT64_MAX - kClockSlackMs) + kClockSlackMs;
    if (!live && (from_history || !after_publishing)) {
      f["undecryptable"] = code;
      return out;
    }
  }
  f["undecryptable"] = code;
  if (from_history) return out;  // an old ciphertext: nothing to repair
  auto now = std::chrono::steady_clock::now();
  auto& last = last_reset_[sender];
  if ((code == "not_found" || code == "not_for_this_device") && now - last > kResetEvery) {
    // No session with that device, or no key from it: this device's next
    // message there starts a new session (my sender keys go with it). Once a
    // minute a device at most, or messages already under way would undo the
    // repair. A ciphertext that does not verify (bad_request) ends nothing:
    // anyone can forge one.
    last = now;
    e2ee_->EndSession(sender);
    ForgetGivenKeys(sender);
    // And the sender's device is asked to do the same, so its next message
    // here starts anew too (carrying its keys) without waiting for mine.
    if (ws_) {  // (also during a catch-up)
      Call({{"type", "keys.reset"}, {"user_id", sender.user_id}, {"device_id", sender.device_id}},
           [](const ReplyFrame&) {});
    }
  }
  Emit({{"@type", "decryption_failed"},
        {"conversation_id", entry.conversation_id},
        {"seq", entry.seq},
        {"sender_id", entry.sender_id},
        {"device_id", sender.device_id},
        {"code", code},
        {"message", text.error().message}});
  return out;
}

}  // namespace natter::client
