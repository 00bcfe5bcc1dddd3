#include "gateway/ws/handshake.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace natter::ws {
namespace {

constexpr char kBase[] = "permessage-deflate; server_no_context_takeover; client_no_context_takeover";

std::string WithServerBits(int bits) { return std::string(kBase) + "; server_max_window_bits=" + std::to_string(bits); }

std::optional<std::string> Negotiate(std::string_view header, int server_bits = 15) {
  DeflateConfig config;
  config.server_max_window_bits = server_bits;
  return NegotiateDeflate(header, config);
}

TEST(WsHandshakeTest, AcceptKeyMatchesRfc6455Example) {
  // RFC 6455 1.3.
  EXPECT_EQ(ComputeAcceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WsHandshakeTest, AcceptKeyDependsOnTheWholeKey) {
  const std::string a = ComputeAcceptKey("AAAAAAAAAAAAAAAAAAAAAA==");
  const std::string b = ComputeAcceptKey("AAAAAAAAAAAAAAAAAAAAAQ==");
  EXPECT_EQ(a.size(), 28u);  // base64 of a 20-byte SHA-1
  EXPECT_NE(a, b);
}

TEST(WsHandshakeTest, ValidClientKeys) {
  EXPECT_TRUE(IsValidClientKey("dGhlIHNhbXBsZSBub25jZQ=="));
  EXPECT_TRUE(IsValidClientKey("AAAAAAAAAAAAAAAAAAAAAA=="));
  EXPECT_TRUE(IsValidClientKey("/+/+/+/+/+/+/+/+/+/+/w=="));
  EXPECT_TRUE(IsValidClientKey("x3JJHMbDL1EzLkh9GBhXDw=="));
}

TEST(WsHandshakeTest, InvalidClientKeys) {
  for (const char* key : {
           "",
           "dGhlIHNhbXBsZSBub25jZQ=",    // 23 characters
           "dGhlIHNhbXBsZSBub25jZQ===",  // 25 characters
           "dGhlIHNhbXBsZSBub25jZQ",     // no padding
           "dGhlIHNhbXBsZSBub25jZXl6",   // 18 bytes, no padding
           "dGhlIHNhbXBsZSBub25jZR==",   // non-zero bits in the padding
           "dGhlIHNhbXBsZSBub25j*Q==",   // outside the alphabet
           "dGhlIHNhbXBsZSBub25jZ-==",   // base64url, not base64
           "dGhlIHNhbXBsZSBub2=jZQ==",   // padding in the middle
           " GhlIHNhbXBsZSBub25jZQ==",   // whitespace
       }) {
    EXPECT_FALSE(IsValidClientKey(key)) << key;
  }
}

TEST(WsNegotiateDeflateTest, PlainOfferIsAccepted) {
  EXPECT_EQ(Negotiate("permessage-deflate"), kBase);
  // What browsers send.
  EXPECT_EQ(Negotiate("permessage-deflate; client_max_window_bits"), kBase);
  EXPECT_EQ(Negotiate("permessage-deflate; client_max_window_bits=10"), kBase);
  EXPECT_EQ(Negotiate("permessage-deflate; server_no_context_takeover; client_no_context_takeover"), kBase);
}

TEST(WsNegotiateDeflateTest, DisabledOrAbsent) {
  DeflateConfig off;
  off.enabled = false;
  EXPECT_EQ(NegotiateDeflate("permessage-deflate", off), std::nullopt);
  EXPECT_EQ(Negotiate(""), std::nullopt);
  EXPECT_EQ(Negotiate("x-webkit-deflate-frame"), std::nullopt);
  EXPECT_EQ(Negotiate("permessage-deflatex"), std::nullopt);
  EXPECT_EQ(Negotiate(" , ,"), std::nullopt);
}

TEST(WsNegotiateDeflateTest, ServerWindowNeverExceedsTheClientsLimit) {
  EXPECT_EQ(Negotiate("permessage-deflate; server_max_window_bits=10"), WithServerBits(10));
  EXPECT_EQ(Negotiate("permessage-deflate; server_max_window_bits=9"), WithServerBits(9));
  EXPECT_EQ(Negotiate("permessage-deflate; server_max_window_bits=15"), kBase);
  EXPECT_EQ(Negotiate("permessage-deflate; server_max_window_bits=14", 12), WithServerBits(12));
  EXPECT_EQ(Negotiate("permessage-deflate; server_max_window_bits=10", 12), WithServerBits(10));
  EXPECT_EQ(Negotiate("permessage-deflate", 12), WithServerBits(12));
}

TEST(WsNegotiateDeflateTest, ConfiguredWindowIsClampedToWhatZlibCanDo) {
  EXPECT_EQ(Negotiate("permessage-deflate", 8), WithServerBits(9));
  EXPECT_EQ(Negotiate("permessage-deflate", 3), WithServerBits(9));
  EXPECT_EQ(Negotiate("permessage-deflate", 20), kBase);
}

TEST(WsNegotiateDeflateTest, WindowOfEightIsDeclined) {
  EXPECT_EQ(Negotiate("permessage-deflate; server_max_window_bits=8"), std::nullopt);
  // ...but the client's fallback offer is taken.
  EXPECT_EQ(Negotiate("permessage-deflate; server_max_window_bits=8, permessage-deflate"), kBase);
  // A client window of 8 is fine: we inflate with 15, which reads anything.
  EXPECT_EQ(Negotiate("permessage-deflate; client_max_window_bits=8"), kBase);
}

TEST(WsNegotiateDeflateTest, QuotedValues) {
  EXPECT_EQ(Negotiate("permessage-deflate; server_max_window_bits=\"10\""), WithServerBits(10));
  EXPECT_EQ(Negotiate("permessage-deflate; client_max_window_bits=\"12\""), kBase);
  // A quoted value must still be a valid token and in range.
  EXPECT_EQ(Negotiate("permessage-deflate; server_max_window_bits=\"1 0\""), std::nullopt);
  EXPECT_EQ(Negotiate("permessage-deflate; server_max_window_bits=\"\""), std::nullopt);
  // Unterminated quote.
  EXPECT_EQ(Negotiate("permessage-deflate; server_max_window_bits=\"10"), std::nullopt);
  // A quoted string in another extension may hold ',' and ';'.
  EXPECT_EQ(Negotiate("foo; bar=\"a,b;c\", permessage-deflate; server_max_window_bits=11"), WithServerBits(11));
  EXPECT_EQ(Negotiate("foo; bar=\"a\\\",permessage-deflate\""), std::nullopt);
}

TEST(WsNegotiateDeflateTest, UnknownParametersSkipTheOffer) {
  EXPECT_EQ(Negotiate("permessage-deflate; foo"), std::nullopt);
  EXPECT_EQ(Negotiate("permessage-deflate; foo=1"), std::nullopt);
  EXPECT_EQ(Negotiate("permessage-deflate; foo, permessage-deflate; server_max_window_bits=12"), WithServerBits(12));
}

TEST(WsNegotiateDeflateTest, DuplicateParametersSkipTheOffer) {
  EXPECT_EQ(Negotiate("permessage-deflate; server_no_context_takeover; server_no_context_takeover"), std::nullopt);
  EXPECT_EQ(Negotiate("permessage-deflate; client_no_context_takeover; client_no_context_takeover"), std::nullopt);
  EXPECT_EQ(Negotiate("permessage-deflate; server_max_window_bits=10; server_max_window_bits=10"), std::nullopt);
  EXPECT_EQ(Negotiate("permessage-deflate; client_max_window_bits; client_max_window_bits=9"), std::nullopt);
}

TEST(WsNegotiateDeflateTest, BadValuesSkipTheOffer) {
  for (const char* offer : {
           "permessage-deflate; server_max_window_bits=16",
           "permessage-deflate; server_max_window_bits=7",
           "permessage-deflate; server_max_window_bits=0",
           "permessage-deflate; server_max_window_bits=010",
           "permessage-deflate; server_max_window_bits=abc",
           "permessage-deflate; server_max_window_bits=",
           "permessage-deflate; server_max_window_bits",
           "permessage-deflate; client_max_window_bits=16",
           "permessage-deflate; client_max_window_bits=",
           "permessage-deflate; server_no_context_takeover=1",
           "permessage-deflate; client_no_context_takeover=true",
           "permessage-deflate; ",
           "permessage-deflate;;",
       }) {
    EXPECT_EQ(Negotiate(offer), std::nullopt) << offer;
    EXPECT_EQ(Negotiate(std::string(offer) + ", permessage-deflate"), kBase) << offer;
  }
}

TEST(WsNegotiateDeflateTest, WhitespaceCaseAndOtherExtensions) {
  EXPECT_EQ(Negotiate("  permessage-deflate ;\tserver_max_window_bits = 10 ; client_max_window_bits "),
            WithServerBits(10));
  EXPECT_EQ(Negotiate("PerMessage-Deflate; Server_Max_Window_Bits=13"), WithServerBits(13));
  EXPECT_EQ(Negotiate("x-webkit-deflate-frame, permessage-deflate; client_max_window_bits"), kBase);
  EXPECT_EQ(Negotiate("foo; a=1; b, permessage-deflate"), kBase);
  // The first acceptable offer wins.
  EXPECT_EQ(Negotiate("permessage-deflate; server_max_window_bits=10, permessage-deflate"), WithServerBits(10));
}

}  // namespace
}  // namespace natter::ws
