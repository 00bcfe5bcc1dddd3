// Conformance tests for MessageReader, grouped like the Autobahn test suite:
// framing, fragmentation, control frames, close codes, reserved bits and
// opcodes, UTF-8, limits and permessage-deflate.
#include "gateway/ws/message_reader.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "client_frames.h"
#include "gateway/ws/frame_writer.h"

namespace natter::ws {
namespace {

using State = MessageReader::State;
using test_frames::BuildFrame;
using test_frames::ClientFrame;
using test_frames::ClientHeader;
using test_frames::ClosePayload;
using test_frames::FrameSpec;
using test_frames::LengthEncoding;
using test_frames::ReadAll;
using test_frames::ReadByteByByte;
using test_frames::ReadResult;

constexpr char kKosme[] = "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5";  // Greek "kosme"

MessageReader MakeReader(size_t max_message_bytes = 64 * 1024, bool deflate = false) {
  return MessageReader(ReaderLimits{max_message_bytes}, deflate);
}

// Feeds `input` to a fresh reader and expects it to fail with `code`.
void ExpectCloseCode(const std::string& input, uint16_t code, bool deflate = false,
                     size_t max_message_bytes = 64 * 1024) {
  MessageReader reader = MakeReader(max_message_bytes, deflate);
  const ReadResult result = ReadAll(reader, input);
  EXPECT_EQ(result.last, State::kError);
  EXPECT_EQ(reader.close_code(), code) << reader.reason();
  EXPECT_FALSE(reader.reason().empty());
}

std::string Payload(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

std::string Deflate(std::string_view text) {
  std::optional<std::string> compressed = DeflateMessage(text, 15);
  EXPECT_TRUE(compressed.has_value());
  return compressed.value_or("");
}

// ---- Framing -------------------------------------------------------------

TEST(WsReaderFramingTest, AllLengthEncodings) {
  for (size_t length : {0, 1, 125, 126, 127, 65535, 65536, 100000}) {
    const std::string payload = Payload(length);
    const std::string frame = ClientFrame(Opcode::kText, payload);
    const size_t expected_header = length < 126 ? 2 : (length <= 65535 ? 4 : 10);
    ASSERT_EQ(frame.size(), expected_header + 4 + length);

    MessageReader reader = MakeReader(200000);
    const ReadResult result = ReadAll(reader, frame);
    EXPECT_EQ(result.last, State::kNeedMore) << length;
    EXPECT_EQ(result.unconsumed, 0u);
    ASSERT_EQ(result.messages.size(), 1u) << length;
    EXPECT_EQ(result.messages[0].opcode, Opcode::kText);
    EXPECT_TRUE(result.messages[0].payload == payload) << length;
    EXPECT_TRUE(reader.idle());
    EXPECT_EQ(reader.buffered_bytes(), 0u);
  }
}

TEST(WsReaderFramingTest, AllLengthEncodingsByteByByte) {
  for (size_t length : {0, 125, 126, 65535, 65536}) {
    const std::string payload = Payload(length);
    MessageReader reader = MakeReader();
    const ReadResult result = ReadByteByByte(reader, ClientFrame(Opcode::kBinary, payload));
    EXPECT_EQ(result.last, State::kNeedMore) << length;
    ASSERT_EQ(result.messages.size(), 1u) << length;
    EXPECT_EQ(result.messages[0].opcode, Opcode::kBinary);
    EXPECT_TRUE(result.messages[0].payload == payload) << length;
    EXPECT_TRUE(reader.idle());
  }
}

TEST(WsReaderFramingTest, Rfc6455MaskedExamples) {
  // RFC 6455 5.7: a masked "Hello" text frame, and the same as a pong.
  MessageReader reader = MakeReader();
  const ReadResult result = ReadAll(reader,
                                    "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"
                                    "\x8a\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58");
  ASSERT_EQ(result.messages.size(), 2u);
  EXPECT_EQ(result.messages[0].opcode, Opcode::kText);
  EXPECT_EQ(result.messages[0].payload, "Hello");
  EXPECT_EQ(result.messages[1].opcode, Opcode::kPong);
  EXPECT_EQ(result.messages[1].payload, "Hello");
}

TEST(WsReaderFramingTest, ReaderCanBeReplacedByAssignment) {
  MessageReader reader = MakeReader();
  EXPECT_EQ(ReadAll(reader, ClientFrame(Opcode::kText, "x", false)).last, State::kNeedMore);
  reader = MakeReader(64 * 1024, /*deflate=*/true);
  EXPECT_TRUE(reader.idle());
  const ReadResult result = ReadAll(reader, ClientFrame(Opcode::kText, Deflate("y"), true, true));
  ASSERT_EQ(result.messages.size(), 1u);
  EXPECT_EQ(result.messages[0].payload, "y");
}

TEST(WsReaderFramingTest, NonMinimalLengthEncodingIsAccepted) {
  for (LengthEncoding encoding : {LengthEncoding::k16Bit, LengthEncoding::k64Bit}) {
    FrameSpec spec;
    spec.payload = "short";
    spec.encoding = encoding;
    MessageReader reader = MakeReader();
    const ReadResult result = ReadAll(reader, BuildFrame(spec));
    ASSERT_EQ(result.messages.size(), 1u);
    EXPECT_EQ(result.messages[0].payload, "short");
  }
}

TEST(WsReaderFramingTest, SeveralFramesInOneInput) {
  const std::string first = ClientFrame(Opcode::kPing, "p");
  const std::string input = first + ClientFrame(Opcode::kText, "hello") +
                            ClientFrame(Opcode::kBinary, std::string("\x00\xff", 2)) + ClientFrame(Opcode::kPong, "") +
                            ClientFrame(Opcode::kClose, ClosePayload(1000, "bye"));
  MessageReader reader = MakeReader();

  // The rest of the input stays untouched after each message.
  std::string_view view = input;
  InboundMessage message;
  ASSERT_EQ(reader.Next(view, message), State::kMessage);
  EXPECT_EQ(view.size(), input.size() - first.size());
  EXPECT_EQ(message.opcode, Opcode::kPing);
  EXPECT_EQ(message.payload, "p");

  const ReadResult rest = ReadAll(reader, view);
  EXPECT_EQ(rest.last, State::kNeedMore);
  ASSERT_EQ(rest.messages.size(), 4u);
  EXPECT_EQ(rest.messages[0].opcode, Opcode::kText);
  EXPECT_EQ(rest.messages[0].payload, "hello");
  EXPECT_EQ(rest.messages[1].opcode, Opcode::kBinary);
  EXPECT_EQ(rest.messages[1].payload, std::string("\x00\xff", 2));
  EXPECT_EQ(rest.messages[2].opcode, Opcode::kPong);
  EXPECT_EQ(rest.messages[2].payload, "");
  EXPECT_EQ(rest.messages[3].opcode, Opcode::kClose);
  EXPECT_EQ(rest.messages[3].payload, ClosePayload(1000, "bye"));
}

TEST(WsReaderFramingTest, SameResultWhereverTheInputIsSplit) {
  const std::string big = Payload(300);
  const std::string input = ClientFrame(Opcode::kText, big) + ClientFrame(Opcode::kPing, "xy") +
                            ClientFrame(Opcode::kText, "ab", /*fin=*/false) +
                            ClientFrame(Opcode::kContinuation, kKosme);
  for (size_t cut = 0; cut <= input.size(); ++cut) {
    MessageReader reader = MakeReader();
    ReadResult a = ReadAll(reader, std::string_view(input).substr(0, cut));
    ASSERT_NE(a.last, State::kError) << cut;
    ASSERT_EQ(a.unconsumed, 0u);
    const ReadResult b = ReadAll(reader, std::string_view(input).substr(cut));
    ASSERT_EQ(b.last, State::kNeedMore) << cut;
    a.messages.insert(a.messages.end(), b.messages.begin(), b.messages.end());
    ASSERT_EQ(a.messages.size(), 3u) << cut;
    EXPECT_EQ(a.messages[0].payload, big);
    EXPECT_EQ(a.messages[1].opcode, Opcode::kPing);
    EXPECT_EQ(a.messages[1].payload, "xy");
    EXPECT_EQ(a.messages[2].opcode, Opcode::kText);
    EXPECT_EQ(a.messages[2].payload, std::string("ab") + kKosme);
    EXPECT_TRUE(reader.idle());
  }
}

TEST(WsReaderFramingTest, UnmasksWithAnyKeyAndAlignment) {
  // Lengths around the 8-byte word size, keys that exercise every byte,
  // and payloads split at every offset so the key phase carries over.
  for (const MaskKey key : {MaskKey{0, 0, 0, 0}, MaskKey{0xff, 0xff, 0xff, 0xff}, MaskKey{0x01, 0x02, 0x04, 0x80},
                            MaskKey{0x37, 0xfa, 0x21, 0x3d}}) {
    for (size_t length = 0; length < 20; ++length) {
      FrameSpec spec;
      spec.opcode = static_cast<uint8_t>(Opcode::kBinary);
      spec.payload = Payload(length);
      spec.key = key;
      const std::string frame = BuildFrame(spec);
      for (size_t cut = 0; cut <= frame.size(); ++cut) {
        MessageReader reader = MakeReader();
        ReadResult a = ReadAll(reader, std::string_view(frame).substr(0, cut));
        const ReadResult b = ReadAll(reader, std::string_view(frame).substr(cut));
        a.messages.insert(a.messages.end(), b.messages.begin(), b.messages.end());
        ASSERT_EQ(a.messages.size(), 1u);
        ASSERT_EQ(a.messages[0].payload, spec.payload) << length << " " << cut;
      }
    }
  }
}

TEST(WsReaderFramingTest, UnmaskedFramesAreRejected) {
  for (Opcode op : {Opcode::kText, Opcode::kBinary, Opcode::kPing, Opcode::kClose}) {
    FrameSpec spec;
    spec.opcode = static_cast<uint8_t>(op);
    spec.payload = "hi";
    spec.masked = false;
    ExpectCloseCode(BuildFrame(spec), close_code::kProtocolError);
  }
}

TEST(WsReaderFramingTest, UnmaskedFrameFailsFromTheFirstTwoBytes) {
  MessageReader reader = MakeReader();
  std::string_view input("\x81\x05", 2);
  InboundMessage message;
  EXPECT_EQ(reader.Next(input, message), State::kError);
  EXPECT_EQ(reader.close_code(), close_code::kProtocolError);
}

TEST(WsReaderFramingTest, SixtyFourBitLengthWithTopBitSet) {
  MessageReader reader = MakeReader();
  // Just the 10 length bytes: no mask key, no payload needed to fail.
  std::string_view input("\x82\xff\x80\x00\x00\x00\x00\x00\x00\x01", 10);
  InboundMessage message;
  EXPECT_EQ(reader.Next(input, message), State::kError);
  EXPECT_EQ(reader.close_code(), close_code::kProtocolError);
}

TEST(WsReaderFramingTest, EmptyInputNeedsMore) {
  MessageReader reader = MakeReader();
  std::string_view nothing;
  InboundMessage message;
  EXPECT_EQ(reader.Next(nothing, message), State::kNeedMore);
  EXPECT_TRUE(reader.idle());
}

TEST(WsReaderFramingTest, ErrorIsSticky) {
  MessageReader reader = MakeReader();
  FrameSpec bad;
  bad.masked = false;
  EXPECT_EQ(ReadAll(reader, BuildFrame(bad)).last, State::kError);
  const std::string good = ClientFrame(Opcode::kText, "fine");
  std::string_view input = good;
  InboundMessage message;
  EXPECT_EQ(reader.Next(input, message), State::kError);
  EXPECT_EQ(reader.Next(input, message), State::kError);
  EXPECT_EQ(reader.close_code(), close_code::kProtocolError);
}

TEST(WsReaderFramingTest, BinaryIsReturnedAsIs) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  MessageReader reader = MakeReader();
  const ReadResult result = ReadAll(reader, ClientFrame(Opcode::kBinary, bytes));
  ASSERT_EQ(result.messages.size(), 1u);
  EXPECT_EQ(result.messages[0].payload, bytes);
}

// ---- Fragmentation -------------------------------------------------------

// Splits `payload` into frames of `piece` bytes: first `op`, then
// continuations, FIN on the last.
std::string Fragmented(Opcode op, std::string_view payload, size_t piece) {
  std::string out;
  size_t pos = 0;
  do {
    const std::string_view part = payload.substr(pos, piece);
    pos += part.size();
    out += ClientFrame(out.empty() ? op : Opcode::kContinuation, part, pos >= payload.size());
  } while (pos < payload.size());
  return out;
}

TEST(WsReaderFragmentationTest, TextInManyFragments) {
  const std::string text = std::string("Hello, ") + kKosme + " \xF0\x9F\x98\x80!";
  for (size_t piece : {1, 2, 3, 5, 100}) {
    MessageReader reader = MakeReader();
    const ReadResult result = ReadAll(reader, Fragmented(Opcode::kText, text, piece));
    EXPECT_EQ(result.last, State::kNeedMore);
    ASSERT_EQ(result.messages.size(), 1u) << piece;
    EXPECT_EQ(result.messages[0].opcode, Opcode::kText);
    EXPECT_EQ(result.messages[0].payload, text);
    EXPECT_TRUE(reader.idle());
    EXPECT_EQ(reader.buffered_bytes(), 0u);
  }
}

TEST(WsReaderFragmentationTest, BinaryFragmentsByteByByte) {
  const std::string data = Payload(40);
  MessageReader reader = MakeReader();
  const ReadResult result = ReadByteByByte(reader, Fragmented(Opcode::kBinary, data, 7));
  ASSERT_EQ(result.messages.size(), 1u);
  EXPECT_EQ(result.messages[0].opcode, Opcode::kBinary);
  EXPECT_EQ(result.messages[0].payload, data);
}

TEST(WsReaderFragmentationTest, EmptyFragments) {
  MessageReader reader = MakeReader();
  const ReadResult result =
      ReadAll(reader, ClientFrame(Opcode::kText, "", false) + ClientFrame(Opcode::kContinuation, "abc", false) +
                          ClientFrame(Opcode::kContinuation, "", false) + ClientFrame(Opcode::kContinuation, "", true));
  ASSERT_EQ(result.messages.size(), 1u);
  EXPECT_EQ(result.messages[0].payload, "abc");
}

TEST(WsReaderFragmentationTest, ControlFramesInterleaveAndComeFirst) {
  const std::string input = ClientFrame(Opcode::kText, "Hel", false) + ClientFrame(Opcode::kPing, "1") +
                            ClientFrame(Opcode::kContinuation, "lo", false) + ClientFrame(Opcode::kPong, "2") +
                            ClientFrame(Opcode::kPing, Payload(125)) + ClientFrame(Opcode::kContinuation, "!", true);
  for (bool byte_by_byte : {false, true}) {
    MessageReader reader = MakeReader();
    const ReadResult result = byte_by_byte ? ReadByteByByte(reader, input) : ReadAll(reader, input);
    ASSERT_EQ(result.messages.size(), 4u);
    EXPECT_EQ(result.messages[0].opcode, Opcode::kPing);
    EXPECT_EQ(result.messages[0].payload, "1");
    EXPECT_EQ(result.messages[1].opcode, Opcode::kPong);
    EXPECT_EQ(result.messages[1].payload, "2");
    EXPECT_EQ(result.messages[2].payload, Payload(125));
    EXPECT_EQ(result.messages[3].opcode, Opcode::kText);
    EXPECT_EQ(result.messages[3].payload, "Hello!");
  }
}

TEST(WsReaderFragmentationTest, CloseMayInterleaveToo) {
  MessageReader reader = MakeReader();
  const ReadResult result = ReadAll(reader, ClientFrame(Opcode::kText, "part", false) +
                                                ClientFrame(Opcode::kClose, ClosePayload(close_code::kGoingAway)));
  EXPECT_EQ(result.last, State::kNeedMore);
  ASSERT_EQ(result.messages.size(), 1u);
  EXPECT_EQ(result.messages[0].opcode, Opcode::kClose);
  EXPECT_FALSE(reader.idle()) << "the text message is still open";
}

TEST(WsReaderFragmentationTest, ContinuationWithNoMessageStarted) {
  ExpectCloseCode(ClientFrame(Opcode::kContinuation, "x"), close_code::kProtocolError);
  ExpectCloseCode(ClientFrame(Opcode::kContinuation, "x", false), close_code::kProtocolError);
  // After a complete message, nothing is open either.
  ExpectCloseCode(ClientFrame(Opcode::kText, "done") + ClientFrame(Opcode::kContinuation, "x"),
                  close_code::kProtocolError);
  ExpectCloseCode(Fragmented(Opcode::kText, "done", 2) + ClientFrame(Opcode::kContinuation, "x"),
                  close_code::kProtocolError);
}

TEST(WsReaderFragmentationTest, NewDataFrameWhileMessageOpen) {
  ExpectCloseCode(ClientFrame(Opcode::kText, "a", false) + ClientFrame(Opcode::kText, "b"), close_code::kProtocolError);
  ExpectCloseCode(ClientFrame(Opcode::kBinary, "a", false) + ClientFrame(Opcode::kText, "b"),
                  close_code::kProtocolError);
  ExpectCloseCode(ClientFrame(Opcode::kText, "a", false) + ClientFrame(Opcode::kPing, "") +
                      ClientFrame(Opcode::kBinary, "b", false),
                  close_code::kProtocolError);
}

// ---- Control frames ------------------------------------------------------

TEST(WsReaderControlFrameTest, PingAndPongPayloadsUpTo125Bytes) {
  for (Opcode op : {Opcode::kPing, Opcode::kPong}) {
    for (size_t length : {0, 1, 125}) {
      std::string payload = Payload(length);
      if (length > 0) payload[0] = '\xff';  // control payloads are raw bytes
      MessageReader reader = MakeReader();
      const ReadResult result = ReadAll(reader, ClientFrame(op, payload));
      ASSERT_EQ(result.messages.size(), 1u);
      EXPECT_EQ(result.messages[0].opcode, op);
      EXPECT_EQ(result.messages[0].payload, payload);
    }
  }
}

TEST(WsReaderControlFrameTest, OversizedControlFrameFailsFromTheHeader) {
  for (Opcode op : {Opcode::kPing, Opcode::kPong, Opcode::kClose}) {
    const std::string frame = ClientFrame(op, Payload(126));
    ExpectCloseCode(frame, close_code::kProtocolError);
    MessageReader reader = MakeReader();
    std::string_view two_bytes = std::string_view(frame).substr(0, 2);
    InboundMessage message;
    EXPECT_EQ(reader.Next(two_bytes, message), State::kError);
  }
  // Even a short payload may not use the extended length forms.
  FrameSpec spec;
  spec.opcode = static_cast<uint8_t>(Opcode::kPing);
  spec.payload = "x";
  spec.encoding = LengthEncoding::k16Bit;
  ExpectCloseCode(BuildFrame(spec), close_code::kProtocolError);
}

TEST(WsReaderControlFrameTest, FragmentedControlFrames) {
  for (Opcode op : {Opcode::kPing, Opcode::kPong, Opcode::kClose}) {
    ExpectCloseCode(ClientFrame(op, "", false) + ClientFrame(Opcode::kContinuation, "", true),
                    close_code::kProtocolError);
  }
}

TEST(WsReaderControlFrameTest, ClosePayloadRules) {
  {
    MessageReader reader = MakeReader();
    const ReadResult empty = ReadAll(reader, ClientFrame(Opcode::kClose, ""));
    ASSERT_EQ(empty.messages.size(), 1u);
    EXPECT_EQ(empty.messages[0].opcode, Opcode::kClose);
    EXPECT_EQ(empty.messages[0].payload, "");
  }
  {
    MessageReader reader = MakeReader();
    const std::string payload = ClosePayload(close_code::kNormal, std::string(123, 'r'));
    const ReadResult full = ReadAll(reader, ClientFrame(Opcode::kClose, payload));
    ASSERT_EQ(full.messages.size(), 1u);
    EXPECT_EQ(full.messages[0].payload, payload);
  }
  {
    MessageReader reader = MakeReader();
    const std::string payload = ClosePayload(close_code::kGoingAway, kKosme);
    const ReadResult utf8 = ReadAll(reader, ClientFrame(Opcode::kClose, payload));
    ASSERT_EQ(utf8.messages.size(), 1u);
    EXPECT_EQ(utf8.messages[0].payload, payload);
  }
  // One byte cannot hold a code; 0x0F would look like a valid code (3840)
  // if the missing second byte were taken as zero.
  ExpectCloseCode(ClientFrame(Opcode::kClose, "\x03"), close_code::kProtocolError);
  ExpectCloseCode(ClientFrame(Opcode::kClose, "\x0f"), close_code::kProtocolError);
  ExpectCloseCode(ClientFrame(Opcode::kClose, ClosePayload(1000, "\xCE\xBA\xE1\xBD\xB9\xED\xA0\x80")),
                  close_code::kInvalidPayload);
  ExpectCloseCode(ClientFrame(Opcode::kClose, ClosePayload(1000, "\xE2\x82")), close_code::kInvalidPayload);
}

TEST(WsReaderControlFrameTest, ClosePayloadSplitAcrossReadsIsStillChecked) {
  const std::string bad = ClientFrame(Opcode::kClose, ClosePayload(1000, "ok\xFF"));
  MessageReader reader = MakeReader();
  EXPECT_EQ(ReadByteByByte(reader, bad).last, State::kError);
  EXPECT_EQ(reader.close_code(), close_code::kInvalidPayload);

  const std::string good = ClientFrame(Opcode::kClose, ClosePayload(4001, "token"));
  MessageReader reader2 = MakeReader();
  const ReadResult result = ReadByteByByte(reader2, good);
  ASSERT_EQ(result.messages.size(), 1u);
  EXPECT_EQ(result.messages[0].payload, ClosePayload(4001, "token"));
}

// ---- Close codes ---------------------------------------------------------

const std::vector<uint16_t>& ValidWireCodes() {
  static const std::vector<uint16_t> codes = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010,
                                              1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999};
  return codes;
}

const std::vector<uint16_t>& InvalidWireCodes() {
  static const std::vector<uint16_t> codes = {0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535};
  return codes;
}

TEST(WsCloseCodeTest, WireValidity) {
  for (uint16_t code : ValidWireCodes()) EXPECT_TRUE(IsValidCloseCodeOnWire(code)) << code;
  for (uint16_t code : InvalidWireCodes()) EXPECT_FALSE(IsValidCloseCodeOnWire(code)) << code;
}

TEST(WsCloseCodeTest, NatterCodesMayBeSent) {
  for (uint16_t code :
       {close_code::kNormal, close_code::kGoingAway, close_code::kProtocolError, close_code::kUnsupportedData,
        close_code::kInvalidPayload, close_code::kPolicyViolation, close_code::kMessageTooBig,
        close_code::kInternalError, close_code::kTryAgainLater, close_code::kUnauthorized, close_code::kTokenExpired,
        close_code::kRateLimited, close_code::kSlowConsumer}) {
    EXPECT_TRUE(IsValidCloseCodeOnWire(code)) << code;
  }
  EXPECT_FALSE(IsValidCloseCodeOnWire(close_code::kNoStatus));
}

TEST(WsCloseCodeTest, ReaderAcceptsValidAndRejectsInvalidCodes) {
  for (uint16_t code : ValidWireCodes()) {
    MessageReader reader = MakeReader();
    const ReadResult result = ReadAll(reader, ClientFrame(Opcode::kClose, ClosePayload(code)));
    EXPECT_EQ(result.messages.size(), 1u) << code;
  }
  for (uint16_t code : InvalidWireCodes()) {
    ExpectCloseCode(ClientFrame(Opcode::kClose, ClosePayload(code, "why")), close_code::kProtocolError);
  }
}

// ---- Reserved bits and opcodes -------------------------------------------

TEST(WsReaderReservedTest, Rsv1WithoutDeflate) {
  ExpectCloseCode(ClientFrame(Opcode::kText, "x", true, /*rsv1=*/true), close_code::kProtocolError);
  ExpectCloseCode(ClientFrame(Opcode::kBinary, "x", true, /*rsv1=*/true), close_code::kProtocolError);
}

TEST(WsReaderReservedTest, Rsv2AndRsv3) {
  for (bool deflate : {false, true}) {
    for (uint8_t op : {1, 2, 9}) {
      FrameSpec rsv2;
      rsv2.opcode = op;
      rsv2.rsv2 = true;
      ExpectCloseCode(BuildFrame(rsv2), close_code::kProtocolError, deflate);
      FrameSpec rsv3;
      rsv3.opcode = op;
      rsv3.rsv3 = true;
      ExpectCloseCode(BuildFrame(rsv3), close_code::kProtocolError, deflate);
    }
  }
}

TEST(WsReaderReservedTest, Rsv1OnlyOnFirstDataFrameEvenWithDeflate) {
  ExpectCloseCode(ClientFrame(Opcode::kPing, "", true, /*rsv1=*/true), close_code::kProtocolError,
                  /*deflate=*/true);
  ExpectCloseCode(ClientFrame(Opcode::kClose, "", true, /*rsv1=*/true), close_code::kProtocolError,
                  /*deflate=*/true);
  const std::string compressed = Deflate("hello hello");
  ExpectCloseCode(ClientFrame(Opcode::kText, compressed.substr(0, 3), false, true) +
                      ClientFrame(Opcode::kContinuation, compressed.substr(3), true, true),
                  close_code::kProtocolError, /*deflate=*/true);
}

TEST(WsReaderReservedTest, ReservedOpcodesFailFromTheFirstTwoBytes) {
  for (uint8_t op : {3, 4, 5, 6, 7, 11, 12, 13, 14, 15}) {
    FrameSpec spec;
    spec.opcode = op;
    spec.payload = "x";
    ExpectCloseCode(BuildFrame(spec), close_code::kProtocolError);
    MessageReader reader = MakeReader();
    const std::string frame = BuildFrame(spec);
    std::string_view two_bytes = std::string_view(frame).substr(0, 2);
    InboundMessage message;
    EXPECT_EQ(reader.Next(two_bytes, message), State::kError) << int{op};
  }
}

// ---- UTF-8 in text messages ----------------------------------------------

TEST(WsReaderUtf8Test, ValidMultiByteText) {
  for (const std::string& text : {std::string(kKosme), std::string("\xF0\x9F\x98\x80 \xE2\x82\xAC"),
                                  std::string("\xF4\x8F\xBF\xBF"), std::string("\xEF\xBB\xBF")}) {
    MessageReader reader = MakeReader();
    const ReadResult result = ReadAll(reader, ClientFrame(Opcode::kText, text));
    ASSERT_EQ(result.messages.size(), 1u);
    EXPECT_EQ(result.messages[0].payload, text);
  }
}

TEST(WsReaderUtf8Test, InvalidTextIsRejected) {
  for (const char* text : {
           "\xC0\xAF",                  // overlong '/'
           "\xE0\x80\xAF",              // overlong, 3 bytes
           "\xF0\x80\x80\xAF",          // overlong, 4 bytes
           "\xED\xA0\x80",              // high surrogate
           "\xED\xBF\xBF",              // low surrogate
           "\xF4\x90\x80\x80",          // U+110000
           "\xFE",                      // never valid
           "\x80",                      // stray continuation
           "\xCE\xBA\xE1\xBD\xB9\xCF",  // cut short
       }) {
    ExpectCloseCode(ClientFrame(Opcode::kText, text), close_code::kInvalidPayload);
    // The slow path (frame split across reads) agrees with the fast path.
    MessageReader reader = MakeReader();
    EXPECT_EQ(ReadByteByByte(reader, ClientFrame(Opcode::kText, text)).last, State::kError);
    EXPECT_EQ(reader.close_code(), close_code::kInvalidPayload);
  }
}

TEST(WsReaderUtf8Test, SequenceSplitAcrossFragmentsIsValid) {
  MessageReader reader = MakeReader();
  const ReadResult result = ReadAll(reader, ClientFrame(Opcode::kText, "\xF0\x9F", false) +
                                                ClientFrame(Opcode::kContinuation, "\x98", false) +
                                                ClientFrame(Opcode::kContinuation, "\x80"));
  ASSERT_EQ(result.messages.size(), 1u);
  EXPECT_EQ(result.messages[0].payload, "\xF0\x9F\x98\x80");
}

TEST(WsReaderUtf8Test, InvalidFragmentFailsBeforeTheMessageEnds) {
  // Autobahn 6.4.1: the first fragment is already invalid; no more input is
  // given, and the reader must not wait for the end of the message.
  MessageReader reader = MakeReader();
  const ReadResult result =
      ReadAll(reader, ClientFrame(Opcode::kText, std::string(kKosme) + "\xF4\x90\x80\x80", false));
  EXPECT_EQ(result.last, State::kError);
  EXPECT_EQ(reader.close_code(), close_code::kInvalidPayload);
}

TEST(WsReaderUtf8Test, InvalidContinuationByteFailsAtItsFragment) {
  // Autobahn 6.4.2: "\xF4" ends fragment 1 (could still be valid), "\x90"
  // starts fragment 2 and cannot be.
  MessageReader reader = MakeReader();
  EXPECT_EQ(ReadAll(reader, ClientFrame(Opcode::kText, std::string(kKosme) + "\xF4", false)).last, State::kNeedMore);
  EXPECT_EQ(ReadAll(reader, ClientFrame(Opcode::kContinuation, "\x90\x80\x80", false)).last, State::kError);
  EXPECT_EQ(reader.close_code(), close_code::kInvalidPayload);
}

TEST(WsReaderUtf8Test, InvalidBytesFailBeforeTheFrameEnds) {
  // Autobahn 6.4.3/6.4.4: one frame, delivered in chunks; the bad byte is in
  // the first chunk, so the reader fails without the rest.
  const std::string frame = ClientFrame(Opcode::kText, std::string(kKosme) + "\xF4\x90" + std::string(1000, 'x'));
  MessageReader reader = MakeReader();
  const ReadResult result = ReadAll(reader, std::string_view(frame).substr(0, 30));
  EXPECT_EQ(result.last, State::kError);
  EXPECT_EQ(reader.close_code(), close_code::kInvalidPayload);
}

TEST(WsReaderUtf8Test, MessageEndingInsideASequence) {
  ExpectCloseCode(ClientFrame(Opcode::kText, "ok\xE2\x82"), close_code::kInvalidPayload);
  ExpectCloseCode(ClientFrame(Opcode::kText, "ok\xE2", false) + ClientFrame(Opcode::kContinuation, "\x82"),
                  close_code::kInvalidPayload);
}

TEST(WsReaderUtf8Test, BinaryIsNotValidated) {
  MessageReader reader = MakeReader();
  const ReadResult result = ReadAll(
      reader, ClientFrame(Opcode::kBinary, "\xED\xA0\x80\xFF", false) + ClientFrame(Opcode::kContinuation, "\xC0"));
  ASSERT_EQ(result.messages.size(), 1u);
  EXPECT_EQ(result.messages[0].payload, "\xED\xA0\x80\xFF\xC0");
}

// ---- Limits --------------------------------------------------------------

TEST(WsReaderLimitsTest, MessageAtTheLimitPassesOneMoreByteFails) {
  MessageReader reader = MakeReader(1000);
  const ReadResult ok = ReadAll(reader, ClientFrame(Opcode::kBinary, Payload(1000)));
  EXPECT_EQ(ok.messages.size(), 1u);
  ExpectCloseCode(ClientFrame(Opcode::kBinary, Payload(1001)), close_code::kMessageTooBig, false, 1000);
  ExpectCloseCode(ClientFrame(Opcode::kText, Payload(1001)), close_code::kMessageTooBig, false, 1000);
}

TEST(WsReaderLimitsTest, DeclaredLengthFailsBeforeThePayloadArrives) {
  for (uint64_t declared : {uint64_t{65537}, uint64_t{1} << 30, uint64_t{1} << 62}) {
    MessageReader reader = MakeReader(65536);
    const std::string header = ClientHeader(Opcode::kBinary, declared);
    // Only the length bytes, not even the mask key.
    std::string_view input = std::string_view(header).substr(0, header.size() - 4);
    InboundMessage message;
    EXPECT_EQ(reader.Next(input, message), State::kError) << declared;
    EXPECT_EQ(reader.close_code(), close_code::kMessageTooBig);
    EXPECT_EQ(reader.buffered_bytes(), 0u);
  }
  MessageReader small = MakeReader(100);
  const std::string header = ClientHeader(Opcode::kText, 200);  // 16-bit length
  std::string_view input = header;
  InboundMessage message;
  EXPECT_EQ(small.Next(input, message), State::kError);
  EXPECT_EQ(small.close_code(), close_code::kMessageTooBig);
}

TEST(WsReaderLimitsTest, FragmentsAddUpToTheLimit) {
  {
    MessageReader reader = MakeReader(100);
    const ReadResult result = ReadAll(
        reader, ClientFrame(Opcode::kText, Payload(60), false) + ClientFrame(Opcode::kContinuation, Payload(40)));
    ASSERT_EQ(result.messages.size(), 1u);
    EXPECT_EQ(result.messages[0].payload.size(), 100u);
  }
  MessageReader reader = MakeReader(100);
  EXPECT_EQ(ReadAll(reader, ClientFrame(Opcode::kText, Payload(60), false)).last, State::kNeedMore);
  // The next fragment's header alone pushes the total over.
  EXPECT_EQ(ReadAll(reader, ClientHeader(Opcode::kContinuation, 41)).last, State::kError);
  EXPECT_EQ(reader.close_code(), close_code::kMessageTooBig);
  EXPECT_EQ(reader.buffered_bytes(), 0u);
}

TEST(WsReaderLimitsTest, ManySmallFragmentsOverTheLimit) {
  MessageReader reader = MakeReader(1000);
  std::string input = ClientFrame(Opcode::kBinary, Payload(10), false);
  for (int i = 0; i < 200; ++i) input += ClientFrame(Opcode::kContinuation, Payload(10), false);
  EXPECT_EQ(ReadAll(reader, input).last, State::kError);
  EXPECT_EQ(reader.close_code(), close_code::kMessageTooBig);
}

TEST(WsReaderLimitsTest, ControlFramesAreBoundedByTheProtocolNotTheLimit) {
  MessageReader reader = MakeReader(10);
  const ReadResult result = ReadAll(reader, ClientFrame(Opcode::kPing, Payload(125)));
  ASSERT_EQ(result.messages.size(), 1u);
  EXPECT_EQ(result.messages[0].payload.size(), 125u);
}

// ---- permessage-deflate --------------------------------------------------

std::string CompressedFrame(Opcode op, std::string_view compressed) {
  return ClientFrame(op, compressed, /*fin=*/true, /*rsv1=*/true);
}

TEST(WsReaderDeflateTest, RoundTripWithDeflateMessage) {
  const std::string text = R"({"type":"send","room":"r1","body":"hello hello hello hello"})";
  MessageReader reader = MakeReader(64 * 1024, /*deflate=*/true);
  const ReadResult result = ReadAll(reader, CompressedFrame(Opcode::kText, Deflate(text)));
  ASSERT_EQ(result.messages.size(), 1u);
  EXPECT_EQ(result.messages[0].opcode, Opcode::kText);
  EXPECT_EQ(result.messages[0].payload, text);
  EXPECT_TRUE(reader.idle());
  EXPECT_EQ(reader.buffered_bytes(), 0u);
}

TEST(WsReaderDeflateTest, Rfc7692Examples) {
  for (const std::string& compressed : {
           std::string("\xf2\x48\xcd\xc9\xc9\x07\x00", 7),                           // 7.2.3.1
           std::string("\x00\x05\x00\xfa\xff\x48\x65\x6c\x6c\x6f\x00", 11),          // 7.2.3.3 stored
           std::string("\xf3\x48\xcd\xc9\xc9\x07\x00\x00", 8),                       // 7.2.3.4 BFINAL
           std::string("\xf2\x48\x05\x00\x00\x00\xff\xff\xca\xc9\xc9\x07\x00", 13),  // 7.2.3.5
       }) {
    MessageReader reader = MakeReader(1024, true);
    const ReadResult result = ReadAll(reader, CompressedFrame(Opcode::kText, compressed));
    EXPECT_EQ(result.last, State::kNeedMore) << reader.reason();
    ASSERT_EQ(result.messages.size(), 1u);
    EXPECT_EQ(result.messages[0].payload, "Hello");
  }
}

TEST(WsReaderDeflateTest, RfcExampleInTwoFragments) {
  // RFC 7692 7.2.3.1's fragmented form: "\xf2\x48\xcd" then "\xc9\xc9\x07\x00".
  MessageReader reader = MakeReader(1024, true);
  const ReadResult result = ReadAll(reader, ClientFrame(Opcode::kText, "\xf2\x48\xcd", false, true) +
                                                ClientFrame(Opcode::kContinuation, std::string("\xc9\xc9\x07\x00", 4)));
  ASSERT_EQ(result.messages.size(), 1u);
  EXPECT_EQ(result.messages[0].payload, "Hello");
}

TEST(WsReaderDeflateTest, EmptyCompressedMessages) {
  for (const std::string& compressed : {Deflate(""), std::string(1, '\0')}) {
    MessageReader reader = MakeReader(1024, true);
    const ReadResult result = ReadAll(reader, CompressedFrame(Opcode::kText, compressed));
    ASSERT_EQ(result.messages.size(), 1u);
    EXPECT_EQ(result.messages[0].payload, "");
  }
}

TEST(WsReaderDeflateTest, MessageCompressedInSeveralFragments) {
  std::string text;
  for (int i = 0; i < 500; ++i) text += std::string(kKosme) + " message " + std::to_string(i) + "\n";
  const std::string compressed = Deflate(text);
  ASSERT_GT(compressed.size(), 30u);
  const size_t a = compressed.size() / 3;
  const size_t b = 2 * compressed.size() / 3;
  const std::string input =
      ClientFrame(Opcode::kText, compressed.substr(0, a), false, true) + ClientFrame(Opcode::kPing, "mid") +
      ClientFrame(Opcode::kContinuation, compressed.substr(a, b - a), false) +
      ClientFrame(Opcode::kContinuation, "", false) + ClientFrame(Opcode::kContinuation, compressed.substr(b), true);
  for (bool byte_by_byte : {false, true}) {
    MessageReader reader = MakeReader(64 * 1024, true);
    const ReadResult result = byte_by_byte ? ReadByteByByte(reader, input) : ReadAll(reader, input);
    EXPECT_EQ(result.last, State::kNeedMore) << reader.reason();
    ASSERT_EQ(result.messages.size(), 2u);
    EXPECT_EQ(result.messages[0].opcode, Opcode::kPing);
    EXPECT_EQ(result.messages[1].opcode, Opcode::kText);
    EXPECT_TRUE(result.messages[1].payload == text);
    EXPECT_TRUE(reader.idle());
    EXPECT_EQ(reader.buffered_bytes(), 0u);
  }
}

TEST(WsReaderDeflateTest, CompressedAndPlainMessagesMix) {
  std::string binary;
  for (int i = 0; i < 3000; ++i) binary.push_back(static_cast<char>(i * i));
  const std::string input = CompressedFrame(Opcode::kBinary, Deflate(binary)) + ClientFrame(Opcode::kText, "plain") +
                            CompressedFrame(Opcode::kText, Deflate("again"));
  MessageReader reader = MakeReader(64 * 1024, true);
  const ReadResult result = ReadAll(reader, input);
  ASSERT_EQ(result.messages.size(), 3u);
  EXPECT_EQ(result.messages[0].opcode, Opcode::kBinary);
  EXPECT_TRUE(result.messages[0].payload == binary);
  EXPECT_EQ(result.messages[1].payload, "plain");
  EXPECT_EQ(result.messages[2].payload, "again");
}

TEST(WsReaderDeflateTest, InflatedSizeIsLimited) {
  const std::string exact = Deflate(std::string(1000, 'z'));
  MessageReader reader = MakeReader(1000, true);
  EXPECT_EQ(ReadAll(reader, CompressedFrame(Opcode::kText, exact)).messages.size(), 1u);
  ExpectCloseCode(CompressedFrame(Opcode::kText, Deflate(std::string(1001, 'z'))), close_code::kMessageTooBig, true,
                  1000);
}

TEST(WsReaderDeflateTest, CompressionBombFailsEarlyWithoutBufferingIt) {
  const std::string bomb = Deflate(std::string(10 * 1024 * 1024, '\0'));
  ASSERT_LT(bomb.size(), 64u * 1024);  // ~10 KB on the wire
  const std::string frame = CompressedFrame(Opcode::kBinary, bomb);

  MessageReader reader = MakeReader(64 * 1024, true);
  size_t fed = 0;
  size_t max_buffered = 0;
  State state = State::kNeedMore;
  InboundMessage message;
  while (fed < frame.size() && state != State::kError) {
    std::string_view chunk = std::string_view(frame).substr(fed, 256);
    fed += chunk.size();
    state = reader.Next(chunk, message);
    max_buffered = std::max(max_buffered, reader.buffered_bytes());
  }
  EXPECT_EQ(state, State::kError);
  EXPECT_EQ(reader.close_code(), close_code::kMessageTooBig);
  // It stopped within the first part of the input, never holding more than
  // the limit: the 10 MB were never materialized.
  EXPECT_LT(fed, frame.size() / 4);
  EXPECT_LE(max_buffered, 64u * 1024);
  EXPECT_EQ(reader.buffered_bytes(), 0u);

  ExpectCloseCode(frame, close_code::kMessageTooBig, true);
}

TEST(WsReaderDeflateTest, DeclaredCompressedLengthFarOverTheLimitFailsFromTheHeader) {
  MessageReader reader = MakeReader(1000, true);
  const std::string header = ClientHeader(Opcode::kText, 1 << 20, true, /*rsv1=*/true);
  std::string_view input = header;
  InboundMessage message;
  EXPECT_EQ(reader.Next(input, message), State::kError);
  EXPECT_EQ(reader.close_code(), close_code::kMessageTooBig);
}

TEST(WsReaderDeflateTest, CorruptStreamIsInvalidPayload) {
  // BTYPE 11 is reserved; a stored block whose NLEN is not ~LEN.
  ExpectCloseCode(CompressedFrame(Opcode::kText, "\xff\xff\xff"), close_code::kInvalidPayload, true);
  ExpectCloseCode(CompressedFrame(Opcode::kBinary, std::string("\x00\x05\x00\x00\x00hello", 10)),
                  close_code::kInvalidPayload, true);
}

TEST(WsReaderDeflateTest, InflatedTextMustBeUtf8) {
  ExpectCloseCode(CompressedFrame(Opcode::kText, Deflate("bad \xED\xA0\x80 text")), close_code::kInvalidPayload, true);
  ExpectCloseCode(CompressedFrame(Opcode::kText, Deflate("cut \xE2\x82")), close_code::kInvalidPayload, true);
}

// Compresses messages on one stream that keeps its window: what a client
// that ignored client_no_context_takeover would send.
std::vector<std::string> DeflateWithContextTakeover(const std::vector<std::string>& messages) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::vector<std::string> out;
  for (const std::string& message : messages) {
    std::string buffer(message.size() + 64, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(message.data()));
    z.avail_in = static_cast<uInt>(message.size());
    z.next_out = reinterpret_cast<Bytef*>(buffer.data());
    z.avail_out = static_cast<uInt>(buffer.size());
    EXPECT_EQ(deflate(&z, Z_SYNC_FLUSH), Z_OK);
    buffer.resize(buffer.size() - z.avail_out - 4);  // drop 00 00 ff ff
    out.push_back(buffer);
  }
  deflateEnd(&z);
  return out;
}

TEST(WsReaderDeflateTest, EachMessageStartsWithAnEmptyWindow) {
  const std::string text = "the quick brown fox jumps over the lazy dog, twice over";
  const std::vector<std::string> compressed = DeflateWithContextTakeover({text, text});
  ASSERT_LT(compressed[1].size(), compressed[0].size()) << "second refers back to the first";
  MessageReader reader = MakeReader(64 * 1024, true);
  const ReadResult first = ReadAll(reader, CompressedFrame(Opcode::kText, compressed[0]));
  ASSERT_EQ(first.messages.size(), 1u);
  EXPECT_EQ(first.messages[0].payload, text);
  // The back-reference points into a window the reader (rightly) dropped.
  EXPECT_EQ(ReadAll(reader, CompressedFrame(Opcode::kText, compressed[1])).last, State::kError);
  EXPECT_EQ(reader.close_code(), close_code::kInvalidPayload);
}

// ---- Buffers and idleness ------------------------------------------------

TEST(WsReaderBufferTest, NothingHeldBetweenMessages) {
  MessageReader reader = MakeReader();
  EXPECT_TRUE(reader.idle());
  EXPECT_EQ(reader.buffered_bytes(), 0u);

  const std::string frame = ClientFrame(Opcode::kText, Payload(1000));
  EXPECT_EQ(ReadAll(reader, std::string_view(frame).substr(0, 1)).last, State::kNeedMore);
  EXPECT_FALSE(reader.idle());
  EXPECT_EQ(reader.buffered_bytes(), 1u);

  // Header (4 bytes) + mask (4) + 500 payload bytes.
  EXPECT_EQ(ReadAll(reader, std::string_view(frame).substr(1, 507)).last, State::kNeedMore);
  EXPECT_FALSE(reader.idle());
  EXPECT_EQ(reader.buffered_bytes(), 500u);

  const ReadResult rest = ReadAll(reader, std::string_view(frame).substr(508));
  ASSERT_EQ(rest.messages.size(), 1u);
  EXPECT_TRUE(rest.messages[0].payload == Payload(1000));
  EXPECT_TRUE(reader.idle());
  EXPECT_EQ(reader.buffered_bytes(), 0u);
}

TEST(WsReaderBufferTest, FragmentedMessageIsHeldUntilItsLastFrame) {
  MessageReader reader = MakeReader();
  EXPECT_EQ(ReadAll(reader, ClientFrame(Opcode::kBinary, Payload(300), false)).last, State::kNeedMore);
  EXPECT_FALSE(reader.idle());
  EXPECT_EQ(reader.buffered_bytes(), 300u);
  const ReadResult result = ReadAll(reader, ClientFrame(Opcode::kContinuation, Payload(20)));
  ASSERT_EQ(result.messages.size(), 1u);
  EXPECT_EQ(result.messages[0].payload.size(), 320u);
  EXPECT_TRUE(reader.idle());
  EXPECT_EQ(reader.buffered_bytes(), 0u);
}

TEST(WsReaderBufferTest, PartialControlFrameIsCountedThenReleased) {
  MessageReader reader = MakeReader();
  const std::string frame = ClientFrame(Opcode::kPing, Payload(100));
  EXPECT_EQ(ReadAll(reader, std::string_view(frame).substr(0, 56)).last, State::kNeedMore);
  EXPECT_EQ(reader.buffered_bytes(), 50u);
  EXPECT_EQ(ReadAll(reader, std::string_view(frame).substr(56)).messages.size(), 1u);
  EXPECT_TRUE(reader.idle());
  EXPECT_EQ(reader.buffered_bytes(), 0u);
}

TEST(WsReaderBufferTest, ErrorReleasesEverything) {
  MessageReader reader = MakeReader();
  EXPECT_EQ(ReadAll(reader, ClientFrame(Opcode::kText, Payload(500), false)).last, State::kNeedMore);
  EXPECT_EQ(reader.buffered_bytes(), 500u);
  EXPECT_EQ(ReadAll(reader, ClientFrame(Opcode::kText, "x")).last, State::kError);
  EXPECT_EQ(reader.buffered_bytes(), 0u);
  EXPECT_TRUE(reader.idle());
}

TEST(WsReaderBufferTest, ReaderItselfIsSmall) {
  // Thousands of idle connections each hold one of these.
  EXPECT_LE(sizeof(MessageReader), 192u);
}

}  // namespace
}  // namespace natter::ws
