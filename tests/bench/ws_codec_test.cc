// The bench's client-side WebSocket codec against the server's own codec:
// frames the bench encodes must decode in natter::ws::MessageReader, and
// frames natter::ws::EncodeFrame writes must decode in the bench's decoder,
// whole and split at every byte.
#include "bench/ws_codec.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gateway/ws/frame_writer.h"
#include "gateway/ws/message_reader.h"

namespace natter::bench {
namespace {

std::string Payload(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7) % 26);
  return s;
}

const size_t kSizes[] = {0, 1, 125, 126, 127, 1000, 65535, 65536, 70000};

TEST(BenchWsCodec, ClientFramesDecodeInServerReader) {
  for (size_t n : kSizes) {
    const std::string payload = Payload(n);
    std::string wire;
    EncodeClientFrame(WsOpcode::kText, payload, 0xA1B2C3D4u + static_cast<uint32_t>(n), wire);
    ws::MessageReader reader(ws::ReaderLimits{128 * 1024}, false);
    std::string_view input(wire);
    ws::InboundMessage msg;
    ASSERT_EQ(reader.Next(input, msg), ws::MessageReader::State::kMessage) << n << ": " << reader.reason();
    EXPECT_EQ(msg.opcode, ws::Opcode::kText);
    EXPECT_EQ(msg.payload, payload) << n;
    EXPECT_TRUE(input.empty());
  }
}

TEST(BenchWsCodec, ManyClientFramesInOneBufferAndSplit) {
  std::string wire;
  std::vector<std::string> sent;
  for (int i = 0; i < 20; ++i) {
    sent.push_back("{\"type\":\"ping\",\"id\":" + std::to_string(i) + "}" + Payload(i * 13));
    EncodeClientFrame(WsOpcode::kText, sent.back(), 0x01020304u * (i + 1), wire);
  }
  EncodeClientFrame(WsOpcode::kPong, "hb", 0x55AA55AAu, wire);
  ws::MessageReader reader(ws::ReaderLimits{}, false);
  std::vector<std::string> got;
  bool pong = false;
  for (char c : wire) {  // one byte at a time
    std::string_view input(&c, 1);
    ws::InboundMessage msg;
    while (!input.empty()) {
      auto state = reader.Next(input, msg);
      ASSERT_NE(state, ws::MessageReader::State::kError) << reader.reason();
      if (state == ws::MessageReader::State::kMessage) {
        if (msg.opcode == ws::Opcode::kPong)
          pong = msg.payload == "hb";
        else
          got.push_back(msg.payload);
      }
    }
  }
  EXPECT_EQ(got, sent);
  EXPECT_TRUE(pong);
}

TEST(BenchWsCodec, ServerFramesDecodeInClientDecoder) {
  for (size_t n : kSizes) {
    const std::string payload = Payload(n);
    const std::string wire = ws::EncodeFrame(ws::Opcode::kText, payload);
    FrameDecoder decoder;
    std::string_view input(wire);
    WsFrame frame;
    ASSERT_EQ(decoder.Next(input, frame), FrameDecoder::Result::kFrame) << n;
    EXPECT_EQ(frame.opcode, WsOpcode::kText);
    EXPECT_EQ(frame.payload, payload);
    EXPECT_EQ(decoder.Next(input, frame), FrameDecoder::Result::kNeedMore);
    EXPECT_EQ(decoder.buffered_bytes(), 0u);
  }
}

TEST(BenchWsCodec, ServerFramesSplitAtEveryByte) {
  std::string wire;
  std::vector<std::string> sent;
  for (size_t n : {size_t{3}, size_t{200}, size_t{70000}, size_t{0}, size_t{125}}) {
    sent.push_back(Payload(n));
    wire += ws::EncodeFrame(ws::Opcode::kText, sent.back());
  }
  wire += ws::EncodeFrame(ws::Opcode::kPing, "p");
  for (size_t chunk : {size_t{1}, size_t{2}, size_t{7}, size_t{1000}, wire.size()}) {
    FrameDecoder decoder;
    std::vector<std::string> got;
    bool ping = false;
    for (size_t off = 0; off < wire.size(); off += chunk) {
      std::string_view input(wire.data() + off, std::min(chunk, wire.size() - off));
      WsFrame frame;
      for (;;) {
        auto r = decoder.Next(input, frame);
        ASSERT_NE(r, FrameDecoder::Result::kError) << decoder.error();
        if (r == FrameDecoder::Result::kNeedMore) break;
        if (frame.opcode == WsOpcode::kPing)
          ping = frame.payload == "p";
        else
          got.emplace_back(frame.payload);
      }
    }
    EXPECT_EQ(got, sent) << "chunk " << chunk;
    EXPECT_TRUE(ping);
    EXPECT_EQ(decoder.buffered_bytes(), 0u) << "an idle decoder holds nothing";
  }
}

TEST(BenchWsCodec, FragmentedMessageIsJoined) {
  // text "hel" (FIN=0), continuation "lo" (FIN=1), with a ping in between.
  std::string wire =
      std::string("\x01\x03hel", 5) + ws::EncodeFrame(ws::Opcode::kPing, "x") + std::string("\x80\x02lo", 4);
  FrameDecoder decoder;
  std::string_view input(wire);
  WsFrame frame;
  ASSERT_EQ(decoder.Next(input, frame), FrameDecoder::Result::kFrame);
  EXPECT_EQ(frame.opcode, WsOpcode::kPing);
  ASSERT_EQ(decoder.Next(input, frame), FrameDecoder::Result::kFrame);
  EXPECT_EQ(frame.opcode, WsOpcode::kText);
  EXPECT_EQ(frame.payload, "hello");
}

TEST(BenchWsCodec, RejectsWhatAServerMustNotSend) {
  const std::string masked = std::string("\x81\x81\x01\x02\x03\x04", 6) + "a";
  const std::string rsv = std::string("\xC1\x01", 2) + "a";
  const std::string big_ping = ws::EncodeFrame(ws::Opcode::kText, Payload(200)).replace(0, 1, "\x89");
  for (const std::string& wire : {masked, rsv, big_ping, std::string("\x83\x00", 2), std::string("\x80\x00", 2)}) {
    FrameDecoder decoder;
    std::string_view input(wire);
    WsFrame frame;
    EXPECT_EQ(decoder.Next(input, frame), FrameDecoder::Result::kError);
    EXPECT_NE(decoder.error(), nullptr);
  }
}

}  // namespace
}  // namespace natter::bench
