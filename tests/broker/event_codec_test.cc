// The wire form of events between nodes: what goes in comes out (but the
// origin connection), and nothing a peer sends can crash the decoder or make
// it allocate past what it was given.
#include "broker/nats/event_codec.h"

#include <gtest/gtest.h>

#include <random>

namespace natter::nats {
namespace {

Event FullEvent() {
  Event e;
  e.recipients = {{1, 10}, {-2, 0}, {INT64_MAX, INT64_MIN}, {300, 1'000'000'007}};
  e.payload = std::make_shared<const std::string>(R"({"type":"message","text":"h\u00e9llo \"you\""})");
  e.origin_connection = 77;
  e.conversation_id = 123'456'789'012;
  e.seq = 42;
  e.revoke_session = -5;
  return e;
}

std::string Encode(uint64_t id, const Event& e) {
  Result<std::string> r = EncodeEvent(id, e);
  EXPECT_TRUE(r.ok());
  return r.ok() ? *r : std::string();
}

TEST(EventCodec, RoundTripKeepsEverythingButTheOrigin) {
  Event in = FullEvent();
  Result<WireEvent> out = DecodeEvent(Encode(0xfeedfacecafebeefULL, in));
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->id, 0xfeedfacecafebeefULL);
  ASSERT_EQ(out->event.recipients.size(), in.recipients.size());
  for (size_t i = 0; i < in.recipients.size(); ++i) {
    EXPECT_EQ(out->event.recipients[i].user, in.recipients[i].user);
    EXPECT_EQ(out->event.recipients[i].pts, in.recipients[i].pts);
  }
  ASSERT_TRUE(out->event.payload);
  EXPECT_EQ(*out->event.payload, *in.payload);
  EXPECT_EQ(out->event.conversation_id, in.conversation_id);
  EXPECT_EQ(out->event.seq, in.seq);
  EXPECT_EQ(out->event.revoke_session, in.revoke_session);
  EXPECT_FALSE(out->event.joins);
  in.joins = true;
  out = DecodeEvent(Encode(2, in));
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_TRUE(out->event.joins);
  EXPECT_EQ(out->event.presence_of, 0);
  in.presence_of = 246884001824768;
  out = DecodeEvent(Encode(3, in));
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->event.presence_of, in.presence_of);
  EXPECT_EQ(out->event.recipients.size(), in.recipients.size());
  // Connection ids mean nothing on another node.
  EXPECT_EQ(out->event.origin_connection, 0u);
}

TEST(EventCodec, NoPayloadStaysNoPayloadAndEmptyStaysEmpty) {
  Event revoke;
  revoke.recipients = {{9, 0}};
  revoke.revoke_session = 31;
  Result<WireEvent> out = DecodeEvent(Encode(1, revoke));
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_FALSE(out->event.payload);
  EXPECT_EQ(out->event.revoke_session, 31);

  Event empty;
  empty.payload = std::make_shared<const std::string>();
  out = DecodeEvent(Encode(2, empty));
  ASSERT_TRUE(out.ok()) << out.error().message;
  ASSERT_TRUE(out->event.payload);
  EXPECT_TRUE(out->event.payload->empty());
  EXPECT_TRUE(out->event.recipients.empty());
}

TEST(EventCodec, AnEventWithoutPayloadMustBeALogout) {
  Event hollow;
  hollow.recipients = {{9, 0}};
  hollow.conversation_id = 4;
  Result<WireEvent> out = DecodeEvent(Encode(3, hollow));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::kBadRequest);
}

TEST(EventCodec, SmallEventsAreSmall) {
  Event e;
  e.recipients = {{1001, 55}, {1002, 56}};
  e.conversation_id = 500;
  e.seq = 7;
  e.payload = std::make_shared<const std::string>(20, 'x');
  // 11 fixed bytes; 2 + 1 + 1 of fields and 1 of count; 3 + 3 of recipients;
  // 1 + 20 of payload.
  EXPECT_EQ(Encode(1, e).size(), 11u + 5u + 6u + 21u);
}

TEST(EventCodec, EveryTruncationIsRejected) {
  std::string wire = Encode(3, FullEvent());
  for (size_t n = 0; n < wire.size(); ++n) {
    Result<WireEvent> out = DecodeEvent(std::string_view(wire).substr(0, n));
    ASSERT_FALSE(out.ok()) << "prefix of " << n << " bytes accepted";
    EXPECT_EQ(out.error().code, ErrorCode::kBadRequest);
  }
}

TEST(EventCodec, TrailingBytesAreRejected) {
  std::string wire = Encode(3, FullEvent()) + "x";
  Result<WireEvent> out = DecodeEvent(wire);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.error().message.find("trailing"), std::string::npos);
}

TEST(EventCodec, WrongMagicVersionOrFlagsAreRejected) {
  std::string good = Encode(3, FullEvent());
  for (size_t at : {0u, 1u, 2u}) {
    std::string bad = good;
    bad[at] = static_cast<char>(bad[at] ^ 0x40);
    Result<WireEvent> out = DecodeEvent(bad);
    EXPECT_FALSE(out.ok()) << "byte " << at << " altered but accepted";
  }
  EXPECT_FALSE(DecodeEvent(R"({"type":"message"})").ok());
}

// The fixed header of an event with no payload, then the caller's fields.
std::string Header() { return std::string("N\x01\x00", 3) + std::string(8, '\0'); }

TEST(EventCodec, APresenceFlagMustNameAUser) {
  // flags = presence and payload; conversation, seq, revoke_session 0; then the user.
  std::string head = std::string("N\x01\x05", 3) + std::string(8, '\0') + std::string(3, '\0');
  std::string named = head + std::string("\x0a\x00\x02{}", 5);  // user 5, no recipients, payload {}
  Result<WireEvent> out = DecodeEvent(named);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->event.presence_of, 5);
  EXPECT_FALSE(DecodeEvent(head + std::string("\x00\x00\x02{}", 5)).ok()) << "user 0";
  EXPECT_FALSE(DecodeEvent(head).ok()) << "no user at all";
}

TEST(EventCodec, HugeCountsAreRejectedBeforeAllocating) {
  // Three zero fields, then a recipient count of 2^62 with nothing behind it.
  std::string wire = Header() + std::string(3, '\0') + "\x80\x80\x80\x80\x80\x80\x80\x80\x40";
  Result<WireEvent> out = DecodeEvent(wire);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::kBadRequest);

  // A recipient count that the remaining bytes cannot hold.
  wire = Header() + std::string(3, '\0') + "\x64" + std::string(10, '\x02');
  EXPECT_FALSE(DecodeEvent(wire).ok());

  // A payload length past the limit, and one past the end of the input.
  std::string with_payload = std::string("N\x01\x01", 3) + std::string(8, '\0') + std::string(4, '\0');
  EXPECT_FALSE(DecodeEvent(with_payload + "\x80\x80\x80\x80\x08").ok());  // 2^31
  EXPECT_FALSE(DecodeEvent(with_payload + "\x05" + "abcd").ok());
  EXPECT_TRUE(DecodeEvent(with_payload + "\x04" + "abcd").ok());
}

TEST(EventCodec, OverlongVarintsAreRejected) {
  // Eleven continuation bytes: no 64-bit value is that long.
  std::string wire = Header() + std::string(11, '\x80') + '\x01' + std::string(3, '\0');
  EXPECT_FALSE(DecodeEvent(wire).ok());
  // Ten bytes whose last carries more than the 64th bit.
  wire = Header() + std::string(9, '\xff') + '\x02' + std::string(3, '\0');
  EXPECT_FALSE(DecodeEvent(wire).ok());
  // The largest value that fits is fine (in a logout: seq 0, session 1, no recipient).
  wire = Header() + std::string(9, '\xff') + '\x01' + std::string("\0\x02\0", 3);
  Result<WireEvent> out = DecodeEvent(wire);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->event.conversation_id, INT64_MIN);  // zigzag of all ones
}

TEST(EventCodec, RandomGarbageNeverCrashes) {
  std::mt19937_64 rng(20240611);
  std::string base = Encode(9, FullEvent());
  int accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string bytes;
    if (round % 2 == 0) {
      bytes.resize(rng() % 64);
      for (char& c : bytes) c = static_cast<char>(rng());
    } else {
      // A valid event with a few bytes flipped: gets past the header checks.
      bytes = base;
      for (int flips = 1 + rng() % 3; flips > 0; --flips) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    }
    Result<WireEvent> out = DecodeEvent(bytes);
    if (out.ok()) {
      ++accepted;
      EXPECT_LE(out->event.recipients.size(), bytes.size());
      if (out->event.payload) {
        EXPECT_LE(out->event.payload->size(), bytes.size());
      }
    }
  }
  // Flips inside the payload text still decode; the point is that nothing crashed.
  EXPECT_LT(accepted, 20000);
}

TEST(EventCodec, EncodingRefusesOversizedEvents) {
  Event e;
  e.payload = std::make_shared<const std::string>(kMaxWirePayloadBytes + 1, 'x');
  Result<std::string> r = EncodeEvent(1, e);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kTooLarge);
}

}  // namespace
}  // namespace natter::nats
