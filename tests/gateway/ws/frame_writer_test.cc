#include "gateway/ws/frame_writer.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/utf8.h"

namespace natter::ws {
namespace {

// Inflates an RFC 7692 message the way a client does, independently of
// MessageReader: raw inflate with the stripped tail put back. zlib lets a
// back-reference reach into output it wrote during the same call, so a small
// output buffer is what makes it hold the stream to `window_bits`.
std::optional<std::string> ClientInflate(std::string_view compressed, int window_bits = 15) {
  z_stream z{};
  if (inflateInit2(&z, -window_bits) != Z_OK) return std::nullopt;
  std::string input(compressed);
  input.append("\x00\x00\xff\xff", 4);
  z.next_in = reinterpret_cast<Bytef*>(input.data());
  z.avail_in = static_cast<uInt>(input.size());
  std::string out;
  char buffer[64];
  int rc = Z_OK;
  do {
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = sizeof(buffer);
    rc = inflate(&z, Z_SYNC_FLUSH);
    if (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END) break;
    out.append(buffer, sizeof(buffer) - z.avail_out);
  } while (z.avail_in > 0 || z.avail_out == 0);
  inflateEnd(&z);
  if (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END) return std::nullopt;
  if (z.avail_in != 0) return std::nullopt;
  return out;
}

// Deterministic bytes with no short-range repeats, so they barely compress.
std::string Noise(size_t n, uint32_t seed) {
  std::string out(n, '\0');
  for (char& c : out) {
    seed = seed * 1103515245 + 12345;
    c = static_cast<char>(seed >> 24);
  }
  return out;
}

std::string HeaderBytes(Opcode op, size_t length, bool compressed = false) {
  uint8_t header[10];
  const size_t n = EncodeFrameHeader(op, length, compressed, header);
  return std::string(reinterpret_cast<const char*>(header), n);
}

TEST(WsFrameWriterTest, HeaderUsesMinimalLengthEncoding) {
  EXPECT_EQ(HeaderBytes(Opcode::kText, 0), std::string("\x81\x00", 2));
  EXPECT_EQ(HeaderBytes(Opcode::kText, 125), "\x81\x7d");
  EXPECT_EQ(HeaderBytes(Opcode::kBinary, 126), std::string("\x82\x7e\x00\x7e", 4));
  EXPECT_EQ(HeaderBytes(Opcode::kBinary, 65535), "\x82\x7e\xff\xff");
  EXPECT_EQ(HeaderBytes(Opcode::kBinary, 65536), std::string("\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10));
  EXPECT_EQ(HeaderBytes(Opcode::kText, 0x123456789aULL), std::string("\x81\x7f\x00\x00\x00\x12\x34\x56\x78\x9a", 10));
}

TEST(WsFrameWriterTest, HeaderSetsFinAndRsv1AndNeverMasks) {
  const std::string compressed = HeaderBytes(Opcode::kText, 5, /*compressed=*/true);
  EXPECT_EQ(static_cast<uint8_t>(compressed[0]), 0xC1);
  EXPECT_EQ(static_cast<uint8_t>(compressed[1]) & 0x80, 0) << "server frames are unmasked";
  EXPECT_EQ(static_cast<uint8_t>(HeaderBytes(Opcode::kPing, 0)[0]), 0x89);
  EXPECT_EQ(static_cast<uint8_t>(HeaderBytes(Opcode::kPong, 0)[0]), 0x8A);
  EXPECT_EQ(static_cast<uint8_t>(HeaderBytes(Opcode::kClose, 0)[0]), 0x88);
}

TEST(WsFrameWriterTest, EncodeFrameIsHeaderPlusPayload) {
  // RFC 6455 5.7: a single-frame unmasked text message.
  EXPECT_EQ(EncodeFrame(Opcode::kText, "Hello"), "\x81\x05Hello");
  EXPECT_EQ(EncodeFrame(Opcode::kPong, "Hello"), "\x8a\x05Hello");
  const std::string big(70000, 'z');
  const std::string frame = EncodeFrame(Opcode::kBinary, big);
  ASSERT_EQ(frame.size(), 10 + big.size());
  EXPECT_EQ(frame.substr(0, 10), HeaderBytes(Opcode::kBinary, big.size()));
  EXPECT_TRUE(frame.substr(10) == big);
}

TEST(WsFrameWriterTest, CloseFrameCarriesCodeAndReason) {
  EXPECT_EQ(EncodeCloseFrame(close_code::kNormal, "bye"),
            "\x88\x05\x03\xe8"
            "bye");
  EXPECT_EQ(EncodeCloseFrame(close_code::kSlowConsumer, ""), "\x88\x02\x0f\xbe");
}

TEST(WsFrameWriterTest, NoStatusIsNeverPutOnTheWire) {
  EXPECT_EQ(EncodeCloseFrame(close_code::kNoStatus, "ignored"), std::string("\x88\x00", 2));
}

TEST(WsFrameWriterTest, LongCloseReasonIsCutTo125BytesOnAUtf8Boundary) {
  const std::string ascii = EncodeCloseFrame(close_code::kPolicyViolation, std::string(300, 'r'));
  ASSERT_EQ(ascii.size(), 2 + 125u);
  EXPECT_EQ(static_cast<uint8_t>(ascii[1]), 125);

  // 2-, 3- and 4-byte characters, each positioned so a cut at 123 bytes
  // would split one.
  for (const std::string unit : {"\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80"}) {
    for (size_t prefix = 0; prefix < 4; ++prefix) {
      std::string reason(prefix, 'p');
      while (reason.size() < 200) reason += unit;
      const std::string frame = EncodeCloseFrame(close_code::kGoingAway, reason);
      const size_t payload_len = static_cast<uint8_t>(frame[1]);
      ASSERT_LE(payload_len, 125u);
      ASSERT_EQ(frame.size(), 2 + payload_len);
      const std::string sent_reason = frame.substr(4);
      EXPECT_TRUE(IsValidUtf8(sent_reason)) << unit.size() << " " << prefix;
      EXPECT_GT(sent_reason.size() + unit.size(), 123u) << "cut more than one character";
      EXPECT_EQ(reason.substr(0, sent_reason.size()), sent_reason);
    }
  }
}

TEST(WsFrameWriterTest, DeflateRoundTripsAndStripsTheTail) {
  const std::string text = R"({"type":"message","body":"hello hello hello hello hello"})";
  const std::optional<std::string> compressed = DeflateMessage(text, 15);
  ASSERT_TRUE(compressed.has_value());
  EXPECT_LT(compressed->size(), text.size());
  ASSERT_GE(compressed->size(), 4u);
  EXPECT_NE(compressed->substr(compressed->size() - 4), std::string("\x00\x00\xff\xff", 4));
  EXPECT_EQ(ClientInflate(*compressed), text);
}

TEST(WsFrameWriterTest, DeflateOfHelloMatchesRfc7692Example) {
  // RFC 7692 7.2.3.1: "Hello" as one compressed block with fixed Huffman.
  EXPECT_EQ(DeflateMessage("Hello", 15), std::string("\xf2\x48\xcd\xc9\xc9\x07\x00", 7));
}

TEST(WsFrameWriterTest, DeflateEmptyAndLargeMessages) {
  const std::optional<std::string> empty = DeflateMessage("", 15);
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(ClientInflate(*empty), "");

  // Pseudo-random bytes barely compress, so the output buffer must grow
  // past deflateBound's first guess safely.
  const std::string noise = Noise(1 << 20, 12345);
  const std::optional<std::string> compressed = DeflateMessage(noise, 15, 9);
  ASSERT_TRUE(compressed.has_value());
  EXPECT_TRUE(ClientInflate(*compressed) == noise);  // not EXPECT_EQ: 1 MiB diffs
}

TEST(WsFrameWriterTest, SmallWindowOutputInflatesWithThatWindow) {
  // Repeats 1000 bytes apart: with a 512-byte window the compressor must not
  // reach back that far, or a client honouring server_max_window_bits=9
  // would fail with "invalid distance too far back".
  const std::string block = Noise(1000, 7);
  const std::string text = block + block + block;
  const std::optional<std::string> nine = DeflateMessage(text, 9);
  ASSERT_TRUE(nine.has_value());
  EXPECT_TRUE(ClientInflate(*nine, 9) == text);
  // With 15 bits the repeats are found, and a 9-bit client would break.
  const std::optional<std::string> fifteen = DeflateMessage(text, 15);
  ASSERT_TRUE(fifteen.has_value());
  EXPECT_LT(fifteen->size(), nine->size() / 2);
  EXPECT_TRUE(ClientInflate(*fifteen, 15) == text);
  EXPECT_FALSE(ClientInflate(*fifteen, 9).has_value());
}

TEST(WsFrameWriterTest, WindowBitsEightIsTreatedAsNine) {
  const std::string text(5000, 'a');
  const std::optional<std::string> eight = DeflateMessage(text, 8);
  ASSERT_TRUE(eight.has_value());
  EXPECT_EQ(eight, DeflateMessage(text, 9));
  EXPECT_TRUE(ClientInflate(*eight, 9) == text);
}

TEST(WsFrameWriterTest, DeflateRejectsBadParameters) {
  EXPECT_EQ(DeflateMessage("x", 7), std::nullopt);
  EXPECT_EQ(DeflateMessage("x", 16), std::nullopt);
  EXPECT_EQ(DeflateMessage("x", 15, 10), std::nullopt);
  EXPECT_EQ(DeflateMessage("x", 15, -2), std::nullopt);
  EXPECT_TRUE(DeflateMessage("x", 15, 0).has_value());  // level 0: stored
  EXPECT_EQ(ClientInflate(*DeflateMessage("x", 15, 0)), "x");
}

}  // namespace
}  // namespace natter::ws
