#include "api/sync_token.h"

#include <gtest/gtest.h>

namespace natter::api {
namespace {

auth::KeyRing Ring(const std::string& kid, char fill) {
  return auth::KeyRing({auth::SigningKey{kid, std::string(32, fill)}});
}

TEST(SyncToken, RoundTrip) {
  auto keys = Ring("k1", 'a');
  chat::SyncPosition p;
  p.pts = {42};
  p.by_seq = {{7, 100}, {9, 3}};
  auto token = EncodeSyncToken(keys, 5, p);
  auto back = DecodeSyncToken(keys, 5, token);
  ASSERT_TRUE(back.ok() && back->has_value());
  EXPECT_EQ((*back)->pts, std::vector<int64_t>{42});
  EXPECT_EQ((*back)->by_seq, p.by_seq);
}

TEST(SyncToken, CarriesAPtsPerPartition) {
  auto keys = Ring("k1", 'a');
  chat::SyncPosition p;
  p.pts = {3, 0, 17};
  p.by_seq = {{11, 2}};
  auto back = DecodeSyncToken(keys, 5, EncodeSyncToken(keys, 5, p));
  ASSERT_TRUE(back.ok() && back->has_value());
  EXPECT_EQ((*back)->pts, p.pts);
  EXPECT_EQ((*back)->by_seq, p.by_seq);
}

TEST(SyncToken, AnotherUsersTokenIsInvalid) {
  auto keys = Ring("k1", 'a');
  auto token = EncodeSyncToken(keys, 5, {});
  auto r = DecodeSyncToken(keys, 6, token);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kBadRequest);
  EXPECT_EQ(r.error().message, "invalid sync token");
}

TEST(SyncToken, TamperingAndGarbageAreInvalid) {
  auto keys = Ring("k1", 'a');
  chat::SyncPosition p;
  p.pts = {1};
  std::string token = EncodeSyncToken(keys, 5, p);
  size_t kid_end = token.find('.', 3);
  for (size_t i = 0; i < token.size(); ++i) {
    std::string t = token;
    t[i] = t[i] == 'A' ? 'B' : 'A';
    if (t == token) continue;
    auto r = DecodeSyncToken(keys, 5, t);
    // A changed key id names a key we do not have: resync, never a position.
    bool kid = i >= 3 && i < kid_end;
    EXPECT_TRUE(kid ? (r.ok() && !r->has_value()) : !r.ok()) << "position " << i;
  }
  for (const char* g : {"", "v1", "v1..", "v1.k1.x.y", "v2.k1.AA.AA", "garbage"}) {
    EXPECT_FALSE(DecodeSyncToken(keys, 5, g).ok()) << g;
  }
  EXPECT_FALSE(DecodeSyncToken(Ring("k1", 'b'), 5, token).ok());  // another server's key under our kid
  auto retired = DecodeSyncToken(Ring("k2", 'a'), 5, token);      // our old key, rotated out
  ASSERT_TRUE(retired.ok());
  EXPECT_FALSE(retired->has_value());
  EXPECT_FALSE(DecodeSyncToken(keys, 5, std::string(70000, 'a')).ok());
}

}  // namespace
}  // namespace natter::api
