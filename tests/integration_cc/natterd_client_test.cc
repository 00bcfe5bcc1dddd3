// natterd end to end from C++: a real natterd process, driven over real
// sockets by Boost.Beast's WebSocket and HTTP clients, which share no code with
// the server's own frame codec. Plain and TLS.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>

#include "fakes/temp_db.h"
#include "natterd_process.h"

namespace natter::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = asio::ip::tcp;

void SetReadTimeout(tcp::socket& s) {
  timeval tv{5, 0};  // a test never waits forever
  setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

template <class Stream>
std::pair<int, json::value> Call(Stream& stream, http::verb verb, const std::string& target, const json::value& body,
                                 const std::string& token) {
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1");
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  if (!body.is_null()) req.body() = json::serialize(body);
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  return {res.result_int(), json::parse(res.body())};
}

std::pair<int, json::value> Http(unsigned short port, http::verb verb, const std::string& target,
                                 const json::value& body = nullptr, const std::string& token = "") {
  asio::io_context ioc;
  tcp::socket socket(ioc);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  SetReadTimeout(socket);
  return Call(socket, verb, target, body, token);
}

struct Account {
  int64_t id = 0;
  std::string token;
};

Account NewUser(unsigned short port, const std::string& handle) {
  auto [status, user] = Http(port, http::verb::post, "/v1/auth/register",
                             json::object{{"handle", handle}, {"password", "password-" + handle}});
  EXPECT_EQ(status, 200) << json::serialize(user);
  auto [login_status, login] = Http(port, http::verb::post, "/v1/auth/login",
                                    json::object{{"handle", handle}, {"password", "password-" + handle}});
  EXPECT_EQ(login_status, 200);
  return {login.at("user_id").as_int64(), std::string(login.at("access_token").as_string())};
}

// A WebSocket client on Beast. `header_token` authenticates on the upgrade;
// otherwise the first frame must.
template <class NextLayer>
class Client {
 public:
  template <class... Args>
  explicit Client(Args&&... args) : ws_(std::forward<Args>(args)...) {}

  websocket::stream<NextLayer>& ws() { return ws_; }

  void Handshake(const std::string& header_token, bool deflate) {
    if (deflate) {
      websocket::permessage_deflate pmd;
      pmd.client_enable = true;
      ws_.set_option(pmd);
    }
    ws_.set_option(websocket::stream_base::decorator([header_token](websocket::request_type& req) {
      if (!header_token.empty()) req.set(http::field::authorization, "Bearer " + header_token);
    }));
    ws_.handshake("127.0.0.1", "/v1/ws");
  }

  void Send(const json::object& frame) { ws_.write(asio::buffer(json::serialize(frame))); }

  json::object Read() {
    beast::flat_buffer buffer;
    ws_.read(buffer);
    return json::parse(beast::buffers_to_string(buffer.data())).as_object();
  }

  // The next frame of `type` (and `id`, when given), skipping others.
  json::object ReadUntil(const std::string& type, const json::value& id = nullptr) {
    for (int i = 0; i < 100; ++i) {
      json::object f = Read();
      if (f.at("type").as_string() == type && (id.is_null() || f.at("id") == id)) return f;
    }
    ADD_FAILURE() << "no " << type << " frame";
    return {};
  }

  json::object Call(json::object request, const std::string& id) {
    request["id"] = id;
    Send(request);
    for (int i = 0; i < 100; ++i) {
      json::object f = Read();
      if (f.contains("id") && f.at("id") == json::value(id)) return f;
    }
    ADD_FAILURE() << "no answer to " << id;
    return {};
  }

 private:
  websocket::stream<NextLayer> ws_;
};

using PlainClient = Client<tcp::socket>;

std::unique_ptr<PlainClient> Connect(asio::io_context& ioc, unsigned short port, const std::string& header_token,
                                     bool deflate) {
  auto c = std::make_unique<PlainClient>(ioc);
  c->ws().next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  SetReadTimeout(c->ws().next_layer());
  c->Handshake(header_token, deflate);
  return c;
}

TEST(NatterdEndToEnd, TwoClientsChatInADirectConversation) {
  NatterdProcess server;
  Account alice = NewUser(server.port(), "alice");
  Account bob = NewUser(server.port(), "bob");
  auto [status, conv] = Http(server.port(), http::verb::post, "/v1/conversations",
                             json::object{{"kind", "direct"}, {"peer_id", bob.id}}, alice.token);
  ASSERT_EQ(status, 200) << json::serialize(conv);
  int64_t cid = conv.at("id").as_int64();

  asio::io_context ioc;
  auto b = Connect(ioc, server.port(), bob.token, /*deflate=*/true);  // header auth, compressed frames
  auto a = Connect(ioc, server.port(), "", false);                    // first-frame auth
  json::object auth = a->Call({{"type", "auth"}, {"token", alice.token}}, "auth");
  ASSERT_EQ(auth.at("type").as_string(), "result") << json::serialize(auth);

  json::object ack = a->Call(
      {{"type", "messages.send"}, {"conversation_id", cid}, {"client_msg_id", "m1"}, {"text", "hello from C++"}}, "s1");
  ASSERT_EQ(ack.at("type").as_string(), "result") << json::serialize(ack);
  EXPECT_EQ(ack.at("data").at("seq").as_int64(), 1);
  json::object event = b->ReadUntil("message");
  EXPECT_EQ(event.at("message").at("text").as_string(), "hello from C++");
  EXPECT_EQ(event.at("message").at("seq").as_int64(), 1);
  EXPECT_GT(event.at("pts").as_int64(), 0);

  // Bob answers with a long, compressible text: permessage-deflate inbound.
  std::string long_text(4000, 'z');
  json::object reply = b->Call({{"type", "messages.send"},
                                {"conversation_id", cid},
                                {"client_msg_id", "r1"},
                                {"text", long_text},
                                {"reply_to", 1}},
                               "r1");
  ASSERT_EQ(reply.at("type").as_string(), "result") << json::serialize(reply);
  json::object got = a->ReadUntil("message");
  EXPECT_EQ(got.at("message").at("text").as_string(), long_text);
  EXPECT_EQ(got.at("message").at("reply_to").as_int64(), 1);

  json::object history = a->Call({{"type", "messages.history"}, {"conversation_id", cid}}, "h");
  ASSERT_EQ(history.at("data").at("messages").as_array().size(), 2u);
}

TEST(NatterdEndToEnd, SyncResumesWhereTheClientLeft) {
  NatterdProcess server;
  Account alice = NewUser(server.port(), "alice");
  Account bob = NewUser(server.port(), "bob");
  auto [status, conv] = Http(server.port(), http::verb::post, "/v1/conversations",
                             json::object{{"kind", "direct"}, {"peer_id", bob.id}}, alice.token);
  ASSERT_EQ(status, 200);
  int64_t cid = conv.at("id").as_int64();
  asio::io_context ioc;
  std::string token;
  {
    auto b = Connect(ioc, server.port(), bob.token, false);
    b->Send({{"type", "sync"}, {"id", "s"}});
    json::object done = b->ReadUntil("result", "s");
    token = std::string(done.at("data").at("token").as_string());
  }
  for (int i = 0; i < 3; ++i) {
    auto [st, ack] =
        Http(server.port(), http::verb::post, "/v1/conversations/" + std::to_string(cid) + "/messages",
             json::object{{"client_msg_id", "m" + std::to_string(i)}, {"text", "while away"}}, alice.token);
    ASSERT_EQ(st, 200);
  }
  auto b = Connect(ioc, server.port(), bob.token, false);
  b->Send({{"type", "sync"}, {"id", "s2"}, {"token", token}});
  json::object part = b->ReadUntil("sync.conversation", "s2");
  EXPECT_EQ(part.at("data").at("events").as_array().size(), 3u);
  json::object done = b->ReadUntil("result", "s2");
  EXPECT_EQ(done.at("data").at("conversations").as_int64(), 1);
}

TEST(NatterdEndToEnd, ProtocolViolationsCloseWithTheirCodes) {
  NatterdProcess server({"--max-frame-bytes", "1024"});
  Account alice = NewUser(server.port(), "alice");
  asio::io_context ioc;
  {
    auto c = Connect(ioc, server.port(), alice.token, false);
    c->ws().binary(true);
    c->ws().write(asio::buffer(std::string("\x01\x02", 2)));
    beast::flat_buffer buffer;
    beast::error_code ec;
    c->ws().read(buffer, ec);
    EXPECT_EQ(ec, websocket::error::closed);
    EXPECT_EQ(c->ws().reason().code, 1003);
  }
  {
    auto c = Connect(ioc, server.port(), alice.token, false);
    c->ws().write(asio::buffer(std::string(2048, 'x')));
    beast::flat_buffer buffer;
    beast::error_code ec;
    c->ws().read(buffer, ec);
    EXPECT_EQ(ec, websocket::error::closed);
    EXPECT_EQ(c->ws().reason().code, 1009);
  }
  // The server keeps serving.
  auto [status, body] = Http(server.port(), http::verb::get, "/v1/conversations", nullptr, alice.token);
  EXPECT_EQ(status, 200);
  EXPECT_TRUE(body.as_object().contains("conversations"));
}

TEST(NatterdEndToEnd, HttpsAndWssWithACertificate) {
  std::string dir = MakeTempDir("natter-tls");
  std::string cert = dir + "/cert.pem", key = dir + "/key.pem";
  std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -keyout " + key + " -out " +
                    cert + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl could not make a test certificate";
  NatterdProcess server({"--tls-cert", cert, "--tls-key", key});

  asio::io_context ioc;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.load_verify_file(cert);  // trust exactly this self-signed certificate
  ctx.set_verify_mode(asio::ssl::verify_peer);
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), server.port());

  // HTTPS: register.
  asio::ssl::stream<tcp::socket> https(ioc, ctx);
  https.next_layer().connect(endpoint);
  SetReadTimeout(https.next_layer());
  https.handshake(asio::ssl::stream_base::client);
  auto [status, user] = Call(https, http::verb::post, "/v1/auth/register",
                             json::object{{"handle", "tlsuser"}, {"password", "password-tls"}}, "");
  ASSERT_EQ(status, 200) << json::serialize(user);

  // A plain client gets nowhere.
  tcp::socket plain(ioc);
  plain.connect(endpoint);
  SetReadTimeout(plain);
  beast::error_code ec;
  http::request<http::string_body> req{http::verb::get, "/healthz", 11};
  http::write(plain, req, ec);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(plain, buffer, res, ec);
  EXPECT_TRUE(ec);

  // WSS: log in and talk.
  asio::ssl::stream<tcp::socket> login_stream(ioc, ctx);
  login_stream.next_layer().connect(endpoint);
  SetReadTimeout(login_stream.next_layer());
  login_stream.handshake(asio::ssl::stream_base::client);
  auto [login_status, login] = Call(login_stream, http::verb::post, "/v1/auth/login",
                                    json::object{{"handle", "tlsuser"}, {"password", "password-tls"}}, "");
  ASSERT_EQ(login_status, 200);
  Client<asio::ssl::stream<tcp::socket>> wss(ioc, ctx);
  wss.ws().next_layer().next_layer().connect(endpoint);
  SetReadTimeout(wss.ws().next_layer().next_layer());
  wss.ws().next_layer().handshake(asio::ssl::stream_base::client);
  wss.Handshake(std::string(login.at("access_token").as_string()), true);
  json::object pong = wss.Call({{"type", "ping"}}, "p");
  EXPECT_EQ(pong.at("data").at("pong").as_bool(), true);
  json::object list = wss.Call({{"type", "conversations.list"}}, "l");
  EXPECT_EQ(list.at("type").as_string(), "result");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace natter::testing
