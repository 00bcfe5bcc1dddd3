#include "auth/key_ring.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "auth/base64url.h"

namespace natter::auth {
namespace {

namespace fs = std::filesystem;

class KeyRingFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "natter-keyring-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string KeyFile() const { return (fs::path(dir_) / "jwt-keys.json").string(); }

  void WriteKeyFile(const std::string& text) const { std::ofstream(KeyFile(), std::ios::binary) << text; }

  std::string ReadKeyFile() const {
    std::ifstream in(KeyFile(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  void ExpectLoadThrows(const std::string& text) const {
    WriteKeyFile(text);
    EXPECT_THROW(KeyRing::LoadOrCreate(dir_), std::runtime_error) << text;
  }

  std::string dir_;
};

const std::string kSecretA = std::string(kSigningKeyBytes, 'a');
const std::string kSecretB = std::string(kSigningKeyBytes, 'b');

TEST(KeyRingTest, FrontKeySignsAndAllKeysAreFound) {
  const KeyRing ring({{"new", kSecretA}, {"old", kSecretB}});
  EXPECT_EQ(ring.current().kid, "new");
  ASSERT_NE(ring.Find("old"), nullptr);
  EXPECT_EQ(ring.Find("old")->secret, kSecretB);
  EXPECT_EQ(ring.Find("new")->secret, kSecretA);
  EXPECT_EQ(ring.Find("missing"), nullptr);
  EXPECT_EQ(ring.Find(""), nullptr);
}

TEST(KeyRingTest, RejectsInvalidKeySets) {
  EXPECT_THROW(KeyRing({}), std::invalid_argument);
  EXPECT_THROW(KeyRing({{"", kSecretA}}), std::invalid_argument);
  EXPECT_THROW(KeyRing({{"k", kSecretA}, {"k", kSecretB}}), std::invalid_argument);
  EXPECT_THROW(KeyRing({{"k", std::string(kSigningKeyBytes - 1, 'a')}}), std::invalid_argument);
}

TEST(KeyRingTest, GeneratedKeysAreFreshAndWellFormed) {
  const SigningKey a = KeyRing::GenerateKey();
  const SigningKey b = KeyRing::GenerateKey();
  EXPECT_EQ(a.kid.size(), 16u);
  EXPECT_EQ(a.kid.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(a.secret.size(), kSigningKeyBytes);
  EXPECT_NE(a.kid, b.kid);
  EXPECT_NE(a.secret, b.secret);
}

TEST_F(KeyRingFileTest, CreatesFileWithOneFreshKey) {
  const KeyRing ring = KeyRing::LoadOrCreate(dir_);
  ASSERT_EQ(ring.keys().size(), 1u);
  EXPECT_EQ(ring.current().kid.size(), 16u);
  EXPECT_EQ(ring.current().kid.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(ring.current().secret.size(), kSigningKeyBytes);
  EXPECT_EQ(ReadKeyFile(), "{\"keys\":[{\"kid\":\"" + ring.current().kid + "\",\"secret\":\"" +
                               Base64UrlEncode(ring.current().secret) + "\"}]}\n");
}

TEST_F(KeyRingFileTest, CreatedFileIsOwnerOnly) {
  const mode_t old_umask = ::umask(0);  // the mode must not depend on umask
  (void)KeyRing::LoadOrCreate(dir_);
  ::umask(old_umask);
  struct stat st;
  ASSERT_EQ(::stat(KeyFile().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_F(KeyRingFileTest, LeavesNoTempFilesBehind) {
  (void)KeyRing::LoadOrCreate(dir_);
  int entries = 0;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    EXPECT_EQ(entry.path().filename(), "jwt-keys.json");
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}

TEST_F(KeyRingFileTest, ReloadReturnsTheSameKeys) {
  const KeyRing created = KeyRing::LoadOrCreate(dir_);
  const std::string file_before = ReadKeyFile();
  const KeyRing loaded = KeyRing::LoadOrCreate(dir_);
  EXPECT_EQ(loaded.current().kid, created.current().kid);
  EXPECT_EQ(loaded.current().secret, created.current().secret);
  EXPECT_EQ(ReadKeyFile(), file_before);  // loading never rewrites
}

TEST_F(KeyRingFileTest, LoadsSeveralKeysInOrder) {
  WriteKeyFile(R"({"keys":[{"kid":"new","secret":")" + Base64UrlEncode(kSecretA) + R"("},{"kid":"old","secret":")" +
               Base64UrlEncode(kSecretB) + R"("}]})");
  const KeyRing ring = KeyRing::LoadOrCreate(dir_);
  ASSERT_EQ(ring.keys().size(), 2u);
  EXPECT_EQ(ring.current().kid, "new");
  EXPECT_EQ(ring.current().secret, kSecretA);
  ASSERT_NE(ring.Find("old"), nullptr);
  EXPECT_EQ(ring.Find("old")->secret, kSecretB);
}

TEST_F(KeyRingFileTest, MalformedFileThrows) {
  const std::string good_secret = Base64UrlEncode(kSecretA);
  ExpectLoadThrows("");
  ExpectLoadThrows("not json");
  ExpectLoadThrows("[]");
  ExpectLoadThrows("{}");
  ExpectLoadThrows(R"({"keys":{}})");
  ExpectLoadThrows(R"({"keys":[]})");
  ExpectLoadThrows(R"({"keys":["k"]})");
  ExpectLoadThrows(R"({"keys":[{"kid":"k"}]})");
  ExpectLoadThrows(R"({"keys":[{"secret":")" + good_secret + R"("}]})");
  ExpectLoadThrows(R"({"keys":[{"kid":7,"secret":")" + good_secret + R"("}]})");
  ExpectLoadThrows(R"({"keys":[{"kid":"k","secret":"not base64!"}]})");
  ExpectLoadThrows(R"({"keys":[{"kid":"k","secret":")" + good_secret + R"(="}]})");
  ExpectLoadThrows(R"({"keys":[{"kid":"k","secret":"c2hvcnQ"}]})");
  ExpectLoadThrows(R"({"keys":[{"kid":"","secret":")" + good_secret + R"("}]})");
  ExpectLoadThrows(R"({"keys":[{"kid":"k","secret":")" + good_secret + R"("},{"kid":"k","secret":")" + good_secret +
                   R"("}]})");
}

TEST_F(KeyRingFileTest, UnusableDirectoryThrows) {
  EXPECT_THROW(KeyRing::LoadOrCreate(dir_ + "/does-not-exist"), std::runtime_error);
  fs::create_directory(KeyFile());  // a directory where the file should be
  EXPECT_THROW(KeyRing::LoadOrCreate(dir_), std::runtime_error);
}

}  // namespace
}  // namespace natter::auth
