#include "auth/password_hasher.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <string>

namespace natter::auth {
namespace {

const PasswordParams kFast = PasswordParams::Minimal();

TEST(PasswordHasherTest, HashVerifiesOnlyTheSamePassword) {
  const Result<std::string> hash = HashPassword("correct horse", kFast);
  ASSERT_TRUE(hash.ok()) << hash.error().message;
  EXPECT_TRUE(VerifyPassword(*hash, "correct horse"));
  EXPECT_FALSE(VerifyPassword(*hash, "correct horsE"));
  EXPECT_FALSE(VerifyPassword(*hash, "correct hors"));
  EXPECT_FALSE(VerifyPassword(*hash, ""));
}

TEST(PasswordHasherTest, UsesArgon2idWithGivenParameters) {
  const Result<std::string> hash = HashPassword("password123", kFast);
  ASSERT_TRUE(hash.ok());
  EXPECT_EQ(hash->rfind("$argon2id$", 0), 0u) << *hash;
  EXPECT_FALSE(PasswordNeedsRehash(*hash, kFast));
  EXPECT_TRUE(PasswordNeedsRehash(*hash, PasswordParams::Interactive()));
}

TEST(PasswordHasherTest, SaltMakesEveryHashDifferent) {
  const Result<std::string> a = HashPassword("password123", kFast);
  const Result<std::string> b = HashPassword("password123", kFast);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(VerifyPassword(*b, "password123"));
}

TEST(PasswordHasherTest, PasswordBytesAfterNulStillCount) {
  // Length-delimited all the way down: nothing truncates at a NUL.
  const std::string with_nul("abcdefgh\0tail", 13);
  const Result<std::string> hash = HashPassword(with_nul, kFast);
  ASSERT_TRUE(hash.ok());
  EXPECT_TRUE(VerifyPassword(*hash, with_nul));
  EXPECT_FALSE(VerifyPassword(*hash, "abcdefgh"));
}

TEST(PasswordHasherTest, MalformedStoredHashIsFalseNotCrash) {
  const Result<std::string> hash = HashPassword("password123", kFast);
  ASSERT_TRUE(hash.ok());
  EXPECT_FALSE(VerifyPassword("", "password123"));
  EXPECT_FALSE(VerifyPassword("plaintext", "plaintext"));
  EXPECT_FALSE(VerifyPassword("$argon2id$", "password123"));
  EXPECT_FALSE(VerifyPassword(hash->substr(0, hash->size() - 5), "password123"));
  EXPECT_FALSE(VerifyPassword(*hash + std::string(200, 'A'), "password123"));
  EXPECT_FALSE(VerifyPassword(std::string(*hash) + '\0', "password123"));
  EXPECT_TRUE(PasswordNeedsRehash("garbage", kFast));
}

TEST(PasswordHasherTest, OutOfRangeParametersFail) {
  const Result<std::string> hash = HashPassword("password123", {0, 0});
  ASSERT_FALSE(hash.ok());
  EXPECT_EQ(hash.error().code, ErrorCode::kInternal);
}

TEST(PasswordHasherTest, PresetsMatchLibsodium) {
  EXPECT_EQ(PasswordParams::Interactive().ops_limit, crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE);
  EXPECT_EQ(PasswordParams::Interactive().mem_limit, crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE);
  EXPECT_EQ(PasswordParams::Minimal().ops_limit, crypto_pwhash_argon2id_OPSLIMIT_MIN);
  EXPECT_EQ(PasswordParams::Minimal().mem_limit, crypto_pwhash_argon2id_MEMLIMIT_MIN);
}

void ExpectPolicyError(std::string_view password, std::string_view message) {
  const Status status = CheckPasswordPolicy(password);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kBadRequest);
  EXPECT_EQ(status.error().message, message);
}

TEST(PasswordPolicyTest, EnforcesLengthBounds) {
  ExpectPolicyError("", "password must be at least 8 bytes long");
  ExpectPolicyError("1234567", "password must be at least 8 bytes long");
  EXPECT_TRUE(CheckPasswordPolicy("12345678").ok());
  EXPECT_TRUE(CheckPasswordPolicy(std::string(1024, 'x')).ok());
  ExpectPolicyError(std::string(1025, 'x'), "password must be at most 1024 bytes long");
}

TEST(PasswordPolicyTest, RejectsNulButNotNonUtf8) {
  ExpectPolicyError(std::string("abcd\0efgh", 9), "password must not contain NUL bytes");
  EXPECT_TRUE(CheckPasswordPolicy("\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8").ok());
  // Counts bytes, not characters: four two-byte characters are enough.
  EXPECT_TRUE(CheckPasswordPolicy("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9").ok());
}

}  // namespace
}  // namespace natter::auth
