#include "broker/nats/event_codec.h"

#include <memory>
#include <optional>

namespace natter::nats {
namespace {

constexpr char kMagic = 'N';
constexpr uint8_t kVersion = 1;
constexpr uint8_t kHasPayload = 0x01;
constexpr uint8_t kJoins = 0x02;
constexpr uint8_t kPresence = 0x04;
// The fixed part: magic, version, flags and the 8-byte id.
constexpr size_t kHeaderBytes = 11;
// The smallest recipient: two one-byte varints.
constexpr size_t kMinRecipientBytes = 2;
// A 64-bit LEB128 value never needs more than ten bytes.
constexpr int kMaxVarintBytes = 10;

uint64_t ZigZag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void PutSigned(std::string& out, int64_t v) { PutVarint(out, ZigZag(v)); }

// Reads forward through the input; every read fails rather than run past it.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  size_t remaining() const { return in_.size() - pos_; }

  std::optional<uint8_t> Byte() {
    if (remaining() < 1) return std::nullopt;
    return static_cast<uint8_t>(in_[pos_++]);
  }

  std::optional<uint64_t> Fixed64() {
    if (remaining() < 8) return std::nullopt;
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(in_[pos_ + i])) << (8 * i);
    pos_ += 8;
    return v;
  }

  // nullopt when truncated or longer than a 64-bit value allows.
  std::optional<uint64_t> Varint() {
    uint64_t v = 0;
    for (int i = 0; i < kMaxVarintBytes; ++i) {
      auto b = Byte();
      if (!b) return std::nullopt;
      // The tenth byte carries only the top bit of the value.
      if (i == kMaxVarintBytes - 1 && *b > 1) return std::nullopt;
      v |= static_cast<uint64_t>(*b & 0x7f) << (7 * i);
      if ((*b & 0x80) == 0) return v;
    }
    return std::nullopt;
  }

  std::optional<int64_t> Signed() {
    auto v = Varint();
    if (!v) return std::nullopt;
    return UnZigZag(*v);
  }

  std::string_view Take(size_t n) {
    std::string_view s = in_.substr(pos_, n);
    pos_ += n;
    return s;
  }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

Error Bad(const char* what) { return BadRequest(std::string("event codec: ") + what); }

}  // namespace

Result<std::string> EncodeEvent(uint64_t id, const Event& event) {
  if (event.recipients.size() > kMaxWireRecipients) return TooLarge("event codec: too many recipients");
  if (event.payload && event.payload->size() > kMaxWirePayloadBytes) return TooLarge("event codec: payload too large");
  std::string out;
  out.reserve(kHeaderBytes + 30 + event.recipients.size() * 8 + (event.payload ? event.payload->size() + 5 : 0));
  out.push_back(kMagic);
  out.push_back(static_cast<char>(kVersion));
  out.push_back(static_cast<char>((event.payload ? kHasPayload : 0) | (event.joins ? kJoins : 0) |
                                  (event.presence_of != 0 ? kPresence : 0)));
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((id >> (8 * i)) & 0xff));
  PutSigned(out, event.conversation_id);
  PutSigned(out, event.seq);
  PutSigned(out, event.revoke_session);
  if (event.presence_of != 0) PutSigned(out, event.presence_of);
  PutVarint(out, event.recipients.size());
  for (const auto& r : event.recipients) {
    PutSigned(out, r.user);
    PutSigned(out, r.pts);
  }
  if (event.payload) {
    PutVarint(out, event.payload->size());
    out.append(*event.payload);
  }
  return out;
}

Result<WireEvent> DecodeEvent(std::string_view bytes) {
  Reader in(bytes);
  if (in.remaining() < kHeaderBytes) return Bad("truncated header");
  // The header's length was checked above: these reads cannot come up short.
  if (in.Byte().value_or(0) != static_cast<uint8_t>(kMagic)) return Bad("not an event (bad magic byte)");
  if (in.Byte().value_or(0) != kVersion) return Bad("unsupported version");
  uint8_t flags = in.Byte().value_or(0xff);
  if ((flags & ~(kHasPayload | kJoins | kPresence)) != 0) return Bad("unknown flags");

  WireEvent out;
  out.id = in.Fixed64().value_or(0);
  auto conversation_id = in.Signed();
  auto seq = in.Signed();
  auto revoke_session = in.Signed();
  if (flags & kPresence) {
    auto presence_of = in.Signed();
    if (!presence_of || *presence_of == 0) return Bad("truncated or malformed presence user");
    out.event.presence_of = *presence_of;
  }
  auto count = in.Varint();
  if (!conversation_id || !seq || !revoke_session || !count) return Bad("truncated or malformed fields");
  if (*count > kMaxWireRecipients) return Bad("too many recipients");
  if (*count > in.remaining() / kMinRecipientBytes) return Bad("truncated recipients");
  out.event.conversation_id = *conversation_id;
  out.event.seq = *seq;
  out.event.revoke_session = *revoke_session;
  out.event.joins = (flags & kJoins) != 0;

  out.event.recipients.reserve(*count);
  for (uint64_t i = 0; i < *count; ++i) {
    auto user = in.Signed();
    auto pts = in.Signed();
    if (!user || !pts) return Bad("truncated or malformed recipient");
    out.event.recipients.push_back(EventRecipient{*user, *pts});
  }

  if (flags & kHasPayload) {
    auto size = in.Varint();
    if (!size) return Bad("truncated payload length");
    if (*size > kMaxWirePayloadBytes) return Bad("payload too large");
    if (*size > in.remaining()) return Bad("truncated payload");
    out.event.payload = std::make_shared<const std::string>(in.Take(*size));
  }
  if (in.remaining() != 0) return Bad("trailing bytes");
  // Only a logout carries no frame; anything else without one is garbage.
  if (!out.event.payload && out.event.revoke_session == 0) return Bad("an event without a payload");
  return out;
}

}  // namespace natter::nats
