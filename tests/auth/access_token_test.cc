#include "auth/access_token.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <vector>

#include "auth/base64url.h"
#include "auth/key_ring.h"

namespace natter::auth {
namespace {

namespace json = boost::json;

constexpr int64_t kNow = 1'700'000'000;

std::string Secret(char fill) { return std::string(kSigningKeyBytes, fill); }

// Signs with OpenSSL rather than the code under test, so these tests also
// cross-check the production HMAC against an independent implementation.
std::string Hmac(const EVP_MD* md, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()), data.size(),
       out, &length);
  return std::string(reinterpret_cast<const char*>(out), length);
}

std::string Craft(const json::value& header, const json::value& claims, std::string_view secret,
                  const EVP_MD* md = EVP_sha256()) {
  const std::string input = Base64UrlEncode(json::serialize(header)) + "." + Base64UrlEncode(json::serialize(claims));
  return input + "." + Base64UrlEncode(Hmac(md, secret, input));
}

json::object Header(std::string_view kid = "k1") { return {{"alg", "HS256"}, {"typ", "JWT"}, {"kid", kid}}; }

json::object Claims() {
  return {{"iss", "natter"}, {"aud", "natter"}, {"sub", "42"},       {"sid", 7},
          {"iat", kNow},     {"nbf", kNow},     {"exp", kNow + 900}, {"jti", "abc"}};
}

std::vector<std::string> Segments(const std::string& token) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t dot; (dot = token.find('.', start)) != std::string::npos; start = dot + 1) {
    parts.push_back(token.substr(start, dot - start));
  }
  parts.push_back(token.substr(start));
  return parts;
}

json::object DecodeSegment(const std::string& segment) {
  std::optional<std::string> bytes = Base64UrlDecode(segment);
  EXPECT_TRUE(bytes.has_value());
  return json::parse(bytes.value_or("{}")).as_object();
}

class AccessTokenTest : public ::testing::Test {
 protected:
  std::string Sign(const json::value& header, const json::value& claims) { return Craft(header, claims, Secret('a')); }

  static void ExpectRejected(const Result<AccessClaims>& result, std::string_view message) {
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, ErrorCode::kUnauthorized);
    EXPECT_EQ(result.error().message, message);
  }
  // Expiry has a code of its own, so the gateway chooses close code 4002
  // without reading the message; on the wire it is still `unauthorized`.
  static void ExpectExpired(const Result<AccessClaims>& result) {
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, ErrorCode::kTokenExpired);
    EXPECT_EQ(result.error().message, kTokenExpiredMessage);
    EXPECT_EQ(ErrorCodeName(result.error().code), "unauthorized");
    EXPECT_EQ(HttpStatusFor(result.error().code), 401);
  }

  KeyRing ring_{{{"k1", Secret('a')}}};
  AccessTokenCodec codec_{ring_, TokenPolicy{}};
};

TEST_F(AccessTokenTest, RoundTrip) {
  const std::string token = codec_.Issue(42, 7, kNow);
  const Result<AccessClaims> claims = codec_.Verify(token, kNow + 10);
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  EXPECT_EQ(claims->user_id, 42);
  EXPECT_EQ(claims->session_id, 7);
  EXPECT_EQ(claims->issued_at, kNow);
  EXPECT_EQ(claims->expires_at, kNow + 900);
}

TEST_F(AccessTokenTest, IssuedTokenHasExpectedHeaderAndClaims) {
  const std::vector<std::string> parts = Segments(codec_.Issue(42, 7, kNow));
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(Base64UrlDecode(parts[0]), std::optional<std::string>(R"({"alg":"HS256","typ":"JWT","kid":"k1"})"));
  const json::object claims = DecodeSegment(parts[1]);
  EXPECT_EQ(claims.at("iss"), "natter");
  EXPECT_EQ(claims.at("aud"), "natter");
  EXPECT_EQ(claims.at("sub"), "42");
  EXPECT_EQ(claims.at("sid"), 7);
  EXPECT_EQ(claims.at("iat"), kNow);
  EXPECT_EQ(claims.at("nbf"), kNow);
  EXPECT_EQ(claims.at("exp"), kNow + 900);
  ASSERT_TRUE(claims.at("jti").is_string());
  EXPECT_FALSE(claims.at("jti").get_string().empty());
  EXPECT_EQ(Base64UrlDecode(parts[2])->size(), 32u);
}

TEST_F(AccessTokenTest, SignatureMatchesIndependentHmac) {
  const std::string token = codec_.Issue(42, 7, kNow);
  const size_t last_dot = token.rfind('.');
  EXPECT_EQ(token.substr(last_dot + 1), Base64UrlEncode(Hmac(EVP_sha256(), Secret('a'), token.substr(0, last_dot))));
}

TEST_F(AccessTokenTest, JtiIsUniquePerToken) {
  const std::string a = codec_.Issue(42, 7, kNow);
  const std::string b = codec_.Issue(42, 7, kNow);
  EXPECT_NE(DecodeSegment(Segments(a)[1]).at("jti"), DecodeSegment(Segments(b)[1]).at("jti"));
}

TEST_F(AccessTokenTest, CraftedTokenVerifies) {
  // Guards the helpers: the negative tests below change one thing each.
  const Result<AccessClaims> claims = codec_.Verify(Sign(Header(), Claims()), kNow);
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  EXPECT_EQ(claims->user_id, 42);
}

TEST_F(AccessTokenTest, TypIsOptional) {
  json::object header = Header();
  header.erase("typ");
  EXPECT_TRUE(codec_.Verify(Sign(header, Claims()), kNow).ok());
}

TEST_F(AccessTokenTest, ExpiredTokenReportsTokenExpired) {
  const std::string token = codec_.Issue(42, 7, kNow);
  // Still accepted within the leeway after exp...
  EXPECT_TRUE(codec_.Verify(token, kNow + 900 + 29).ok());
  // ...and rejected from exp + leeway on.
  ExpectExpired(codec_.Verify(token, kNow + 900 + 30));
  ExpectExpired(codec_.Verify(token, kNow + 100000));
}

TEST_F(AccessTokenTest, ExpiredButOtherwiseInvalidIsNotTokenExpired) {
  json::object claims = Claims();
  claims["iss"] = "evil";
  ExpectRejected(codec_.Verify(Sign(Header(), claims), kNow + 100000), "invalid token: bad issuer");
  std::string tampered = codec_.Issue(42, 7, kNow);
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
  EXPECT_NE(codec_.Verify(tampered, kNow + 100000).error().message, "token_expired");
}

TEST_F(AccessTokenTest, NotBeforeInTheFutureRejected) {
  json::object claims = Claims();
  claims["nbf"] = kNow + 31;
  ExpectRejected(codec_.Verify(Sign(Header(), claims), kNow), "invalid token: not yet valid");
  claims["nbf"] = kNow + 30;  // within leeway
  EXPECT_TRUE(codec_.Verify(Sign(Header(), claims), kNow).ok());
}

TEST_F(AccessTokenTest, TokenUsedBeforeIssueTimeRejected) {
  const std::string token = codec_.Issue(42, 7, kNow);
  EXPECT_TRUE(codec_.Verify(token, kNow - 30).ok());  // clock skew allowed
  ExpectRejected(codec_.Verify(token, kNow - 31), "invalid token: issued in the future");
}

TEST_F(AccessTokenTest, WrongIssuerRejected) {
  json::object claims = Claims();
  claims["iss"] = "someone-else";
  ExpectRejected(codec_.Verify(Sign(Header(), claims), kNow), "invalid token: bad issuer");
  claims.erase("iss");
  ExpectRejected(codec_.Verify(Sign(Header(), claims), kNow), "invalid token: bad issuer");
}

TEST_F(AccessTokenTest, PolicyIssuerAndAudienceAreUsed) {
  TokenPolicy policy;
  policy.issuer = "other-iss";
  policy.audience = "other-aud";
  const AccessTokenCodec other(ring_, policy);
  const std::string token = other.Issue(1, 2, kNow);
  EXPECT_TRUE(other.Verify(token, kNow).ok());
  ExpectRejected(codec_.Verify(token, kNow), "invalid token: bad issuer");
}

TEST_F(AccessTokenTest, WrongAudienceRejected) {
  json::object claims = Claims();
  claims["aud"] = "billing";
  ExpectRejected(codec_.Verify(Sign(Header(), claims), kNow), "invalid token: bad audience");
  claims["aud"] = json::array{"billing", "search"};
  ExpectRejected(codec_.Verify(Sign(Header(), claims), kNow), "invalid token: bad audience");
  claims["aud"] = 5;
  ExpectRejected(codec_.Verify(Sign(Header(), claims), kNow), "invalid token: bad audience");
  claims.erase("aud");
  ExpectRejected(codec_.Verify(Sign(Header(), claims), kNow), "invalid token: bad audience");
}

TEST_F(AccessTokenTest, AudienceArrayContainingOursAccepted) {
  json::object claims = Claims();
  claims["aud"] = json::array{"billing", "natter"};
  EXPECT_TRUE(codec_.Verify(Sign(Header(), claims), kNow).ok());
}

TEST_F(AccessTokenTest, TamperedPayloadRejected) {
  const std::vector<std::string> parts = Segments(codec_.Issue(42, 7, kNow));
  json::object claims = DecodeSegment(parts[1]);
  claims["sub"] = "1";  // try to become user 1
  const std::string forged = parts[0] + "." + Base64UrlEncode(json::serialize(claims)) + "." + parts[2];
  ExpectRejected(codec_.Verify(forged, kNow), "invalid token: bad signature");
}

TEST_F(AccessTokenTest, TamperedSignatureRejected) {
  const std::string token = codec_.Issue(42, 7, kNow);
  const std::vector<std::string> parts = Segments(token);
  std::string signature = *Base64UrlDecode(parts[2]);
  signature[0] = static_cast<char>(signature[0] ^ 1);
  ExpectRejected(codec_.Verify(parts[0] + "." + parts[1] + "." + Base64UrlEncode(signature), kNow),
                 "invalid token: bad signature");
  // Truncated and missing signatures.
  ExpectRejected(codec_.Verify(token.substr(0, token.size() - 4), kNow), "invalid token: bad signature");
  ExpectRejected(codec_.Verify(parts[0] + "." + parts[1] + ".", kNow), "invalid token: bad signature");
}

TEST_F(AccessTokenTest, AlgNoneRejected) {
  json::object header = Header();
  header["alg"] = "none";
  const std::string unsigned_token =
      Base64UrlEncode(json::serialize(header)) + "." + Base64UrlEncode(json::serialize(Claims())) + ".";
  ExpectRejected(codec_.Verify(unsigned_token, kNow), "invalid token: unsupported algorithm");
  // Even with a valid HS256 MAC attached, "none" is not accepted.
  ExpectRejected(codec_.Verify(Sign(header, Claims()), kNow), "invalid token: unsupported algorithm");
}

TEST_F(AccessTokenTest, OtherAlgorithmsRejected) {
  json::object header = Header();
  header["alg"] = "HS512";
  ExpectRejected(codec_.Verify(Craft(header, Claims(), Secret('a'), EVP_sha512()), kNow),
                 "invalid token: unsupported algorithm");
  for (const char* alg : {"RS256", "hs256", "HS256 ", "ES256"}) {
    header["alg"] = alg;
    ExpectRejected(codec_.Verify(Sign(header, Claims()), kNow), "invalid token: unsupported algorithm");
  }
  header.erase("alg");
  ExpectRejected(codec_.Verify(Sign(header, Claims()), kNow), "invalid token: unsupported algorithm");
}

TEST_F(AccessTokenTest, DuplicateAlgUsesLastValue) {
  // Parsers disagreeing on duplicates is a classic bypass; ours keeps the
  // last value, so a trailing "none" is seen and refused.
  const std::string header_json = R"({"alg":"HS256","typ":"JWT","kid":"k1","alg":"none"})";
  const std::string input = Base64UrlEncode(header_json) + "." + Base64UrlEncode(json::serialize(Claims()));
  const std::string token = input + "." + Base64UrlEncode(Hmac(EVP_sha256(), Secret('a'), input));
  ExpectRejected(codec_.Verify(token, kNow), "invalid token: unsupported algorithm");
}

TEST_F(AccessTokenTest, WrongTypRejected) {
  json::object header = Header();
  header["typ"] = "at+jwt";
  ExpectRejected(codec_.Verify(Sign(header, Claims()), kNow), "invalid token: unsupported header");
  header["typ"] = 1;
  ExpectRejected(codec_.Verify(Sign(header, Claims()), kNow), "invalid token: unsupported header");
}

TEST_F(AccessTokenTest, KeySteeringHeaderMembersRejected) {
  for (const char* member : {"crit", "jku", "jwk", "x5u", "x5c", "cty"}) {
    json::object header = Header();
    header[member] =
        member == std::string("crit") ? json::value(json::array{"exp"}) : json::value("https://evil.example/key");
    ExpectRejected(codec_.Verify(Sign(header, Claims()), kNow), "invalid token: unsupported header");
  }
}

TEST_F(AccessTokenTest, UnknownKidRejected) {
  ExpectRejected(codec_.Verify(Sign(Header("k9"), Claims()), kNow), "invalid token: unknown key");
  json::object header = Header();
  header.erase("kid");
  ExpectRejected(codec_.Verify(Sign(header, Claims()), kNow), "invalid token: unknown key");
  header["kid"] = 1;
  ExpectRejected(codec_.Verify(Sign(header, Claims()), kNow), "invalid token: unknown key");
}

TEST_F(AccessTokenTest, TokenFromAnotherKeyRingRejected) {
  // Same kid, different secret: the signature cannot match.
  const KeyRing other_ring({{"k1", Secret('b')}});
  const AccessTokenCodec other(other_ring, TokenPolicy{});
  ExpectRejected(codec_.Verify(other.Issue(42, 7, kNow), kNow), "invalid token: bad signature");
  // A generated key has its own kid, which this ring does not know.
  const KeyRing random_ring({KeyRing::GenerateKey()});
  const AccessTokenCodec random(random_ring, TokenPolicy{});
  ExpectRejected(codec_.Verify(random.Issue(42, 7, kNow), kNow), "invalid token: unknown key");
}

TEST_F(AccessTokenTest, RotationKeepsOldKeysVerifying) {
  const SigningKey old_key{"old", Secret('o')};
  const SigningKey new_key{"new", Secret('n')};
  const KeyRing before({old_key});
  const KeyRing during({new_key, old_key});
  const KeyRing after({new_key});
  const AccessTokenCodec before_codec(before, TokenPolicy{});
  const AccessTokenCodec during_codec(during, TokenPolicy{});
  const AccessTokenCodec after_codec(after, TokenPolicy{});

  const std::string old_token = before_codec.Issue(42, 7, kNow);
  EXPECT_TRUE(during_codec.Verify(old_token, kNow).ok());
  ExpectRejected(after_codec.Verify(old_token, kNow), "invalid token: unknown key");

  const std::string new_token = during_codec.Issue(42, 7, kNow);
  EXPECT_EQ(DecodeSegment(Segments(new_token)[0]).at("kid"), "new");
  EXPECT_TRUE(after_codec.Verify(new_token, kNow).ok());
  ExpectRejected(before_codec.Verify(new_token, kNow), "invalid token: unknown key");
}

TEST_F(AccessTokenTest, MissingOrMalformedSubjectRejected) {
  json::object claims = Claims();
  claims.erase("sub");
  ExpectRejected(codec_.Verify(Sign(Header(), claims), kNow), "invalid token: bad subject");
  for (const json::value& sub :
       {json::value(42), json::value(""), json::value("042"), json::value("-42"), json::value("+42"), json::value("0"),
        json::value("4x"), json::value(" 42"), json::value("99999999999999999999")}) {
    claims["sub"] = sub;
    ExpectRejected(codec_.Verify(Sign(Header(), claims), kNow), "invalid token: bad subject");
  }
}

TEST_F(AccessTokenTest, MissingOrMalformedSessionRejected) {
  json::object claims = Claims();
  claims.erase("sid");
  ExpectRejected(codec_.Verify(Sign(Header(), claims), kNow), "invalid token: bad session");
  for (const json::value& sid : {json::value("7"), json::value(0), json::value(-7), json::value(7.5)}) {
    claims["sid"] = sid;
    ExpectRejected(codec_.Verify(Sign(Header(), claims), kNow), "invalid token: bad session");
  }
}

TEST_F(AccessTokenTest, MissingOrMalformedTimesRejected) {
  for (const char* name : {"exp", "iat"}) {
    json::object claims = Claims();
    claims.erase(name);
    ExpectRejected(codec_.Verify(Sign(Header(), claims), kNow), "invalid token: bad time claims");
    claims[name] = std::to_string(kNow);
    ExpectRejected(codec_.Verify(Sign(Header(), claims), kNow), "invalid token: bad time claims");
  }
  json::object claims = Claims();
  claims["nbf"] = "soon";
  ExpectRejected(codec_.Verify(Sign(Header(), claims), kNow), "invalid token: bad time claims");
  claims = Claims();
  claims["exp"] = 1e300;
  ExpectRejected(codec_.Verify(Sign(Header(), claims), kNow), "invalid token: bad time claims");
  claims = Claims();
  claims["exp"] = kNow - 1;  // expires before it was issued
  ExpectRejected(codec_.Verify(Sign(Header(), claims), kNow), "invalid token: bad time claims");
}

TEST_F(AccessTokenTest, ExtremeTimesDoNotOverflow) {
  json::object claims = Claims();
  claims["exp"] = INT64_MAX;
  EXPECT_TRUE(codec_.Verify(Sign(Header(), claims), kNow).ok());
  claims["nbf"] = INT64_MAX;
  ExpectRejected(codec_.Verify(Sign(Header(), claims), kNow), "invalid token: not yet valid");
  claims = Claims();
  claims["iat"] = INT64_MIN;
  claims["nbf"] = INT64_MIN;
  claims["exp"] = INT64_MIN + 1;
  ExpectExpired(codec_.Verify(Sign(Header(), claims), kNow));
}

TEST_F(AccessTokenTest, GarbageIsRejectedWithoutCrashing) {
  const std::string valid = codec_.Issue(42, 7, kNow);
  const std::vector<std::string> parts = Segments(valid);
  const std::vector<std::string> garbage = {
      "",
      "a.b",
      "....",
      "..",
      "a.b.c",
      "abc",
      valid + ".",
      valid + "." + parts[2],
      " " + valid,
      valid + "\n",
      "!!!." + parts[1] + "." + parts[2],
      parts[0] + "=." + parts[1] + "." + parts[2],
      Base64UrlEncode("not json") + "." + parts[1] + "." + parts[2],
      Base64UrlEncode("[1,2,3]") + "." + parts[1] + "." + parts[2],
      Base64UrlEncode("\"HS256\"") + "." + parts[1] + "." + parts[2],
      Base64UrlEncode(std::string(200, '[') + std::string(200, ']')) + "." + parts[1] + "." + parts[2],
      Base64UrlEncode(std::string("{\"alg\":\"HS256\0\"}", 16)) + "." + parts[1] + "." + parts[2],
      Base64UrlEncode("{\"alg\":\"\xff\xfe\"}") + "." + parts[1] + "." + parts[2],
      std::string("\0\0\0", 3),
  };
  for (const std::string& token : garbage) {
    const Result<AccessClaims> result = codec_.Verify(token, kNow);
    ASSERT_FALSE(result.ok()) << "accepted: " << token;
    EXPECT_EQ(result.error().code, ErrorCode::kUnauthorized);
    EXPECT_NE(result.error().message, "token_expired");
  }
  ExpectRejected(codec_.Verify("", kNow), "invalid token: malformed");
  ExpectRejected(codec_.Verify("a.b", kNow), "invalid token: malformed");
  ExpectRejected(codec_.Verify("....", kNow), "invalid token: malformed");
}

TEST_F(AccessTokenTest, OversizedTokenRejectedBeforeParsing) {
  ExpectRejected(codec_.Verify(std::string(5000, 'a'), kNow), "invalid token: too long");
  // A correctly signed token is still refused when it is too long.
  json::object claims = Claims();
  claims["jti"] = std::string(4000, 'x');
  ExpectRejected(codec_.Verify(Sign(Header(), claims), kNow), "invalid token: too long");
}

TEST_F(AccessTokenTest, SignedButNonJsonPayloadRejected) {
  const std::string input = Base64UrlEncode(json::serialize(Header())) + "." + Base64UrlEncode("this is not json");
  const std::string token = input + "." + Base64UrlEncode(Hmac(EVP_sha256(), Secret('a'), input));
  ExpectRejected(codec_.Verify(token, kNow), "invalid token: malformed");
}

TEST_F(AccessTokenTest, BadPolicyThrows) {
  TokenPolicy zero_ttl;
  zero_ttl.ttl_seconds = 0;
  EXPECT_THROW(AccessTokenCodec(ring_, zero_ttl), std::invalid_argument);
  TokenPolicy negative_leeway;
  negative_leeway.leeway_seconds = -1;
  EXPECT_THROW(AccessTokenCodec(ring_, negative_leeway), std::invalid_argument);
}

}  // namespace
}  // namespace natter::auth
