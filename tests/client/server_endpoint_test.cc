#include "server_endpoint.h"

#include <gtest/gtest.h>

namespace natter::client {
namespace {

ServerEndpoint Make(const std::string& server, std::vector<std::string> pins = {}) {
  ClientOptions o;
  o.server = server;
  o.pins = std::move(pins);
  return MakeServerEndpoint(o);
}

std::string Refusal(const std::string& server, std::vector<std::string> pins = {}) {
  try {
    Make(server, std::move(pins));
  } catch (const std::exception& e) {
    return e.what();
  }
  return "accepted";
}

TEST(ServerEndpointTest, SchemesPortsAndHosts) {
  auto plain = Make("http://chat.example");
  EXPECT_FALSE(plain.tls);
  EXPECT_EQ(plain.port, "80");
  // The scheme's own port goes unsaid (a presigned URL signs the Host header
  // as a browser sends it); any other is named.
  EXPECT_EQ(plain.Url("/v1/auth/login"), "http://chat.example/v1/auth/login");
  EXPECT_EQ(plain.HostHeader(), "chat.example");
  EXPECT_EQ(Make("http://chat.example:443").HostHeader(), "chat.example:443");
  auto tls = Make("https://chat.example");
  EXPECT_TRUE(tls.tls);
  EXPECT_EQ(tls.port, "443");
  EXPECT_TRUE(tls.tls_context);
  EXPECT_EQ(tls.ws_origin, "wss://chat.example");
  EXPECT_EQ(Make("https://chat.example:80").HostHeader(), "chat.example:80");
  EXPECT_TRUE(Make("wss://chat.example:8443").tls);
  auto v6 = Make("http://[::1]:8080");
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.HostHeader(), "[::1]:8080");
}

TEST(ServerEndpointTest, WhatCannotBeUsedIsRefusedWithAReason) {
  EXPECT_EQ(Refusal("ftp://chat.example"),
            "server must be http://host:port or https://host:port (got ftp://chat.example)");
  EXPECT_EQ(Refusal("https://chat.example", {"sha256/abc"}), "pin 'sha256/abc' is not sha256/<base64 of 32 bytes>");
  std::string pin = "sha256/" + std::string(43, 'A') + "=";
  EXPECT_EQ(Refusal("https://chat.example", {pin}), "accepted");
  EXPECT_EQ(Refusal("http://chat.example", {pin}), "pins need an https:// server (got http://chat.example)");
  EXPECT_EQ(Refusal("https://evil.example%00.bank.example"),
            "server host has control characters or spaces (got https://evil.example%00.bank.example)");
}

}  // namespace
}  // namespace natter::client
