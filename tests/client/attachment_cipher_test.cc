#include "attachment_cipher.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "fakes/temp_db.h"

namespace natter::client {
namespace {

class AttachmentCipherTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir("natter-attachment-cipher"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Path(const char* name) { return (std::filesystem::path(dir_) / name).string(); }
  void Write(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }
  std::string Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  std::string dir_;
};

TEST_F(AttachmentCipherTest, AFileOpensAsItWasWhateverItsSize) {
  // Empty, small, exactly one read chunk, and past it.
  for (size_t size : {size_t{0}, size_t{1}, size_t{65536}, size_t{200001}}) {
    std::string plain(size, '\0');
    for (size_t i = 0; i < size; ++i) plain[i] = static_cast<char>(i * 31 + 7);
    Write(Path("plain"), plain);
    auto sealed = SealFile(Path("plain"), Path("sealed"));
    ASSERT_TRUE(sealed.ok()) << sealed.error().message;
    EXPECT_EQ(sealed->size, static_cast<int64_t>(size));
    EXPECT_EQ(std::filesystem::file_size(Path("sealed")), size + 28);  // nonce and tag
    if (size > 64) {
      EXPECT_EQ(Read(Path("sealed")).find(plain.substr(0, 64)), std::string::npos);
    }
    auto opened = OpenSealedFile(Path("sealed"), Path("opened"), sealed->key, sealed->digest);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    EXPECT_EQ(Read(Path("opened")), plain) << size;
  }
}

TEST_F(AttachmentCipherTest, ChangedBytesOrAnotherKeyOpenNothing) {
  Write(Path("plain"), std::string(5000, 'x'));
  auto sealed = SealFile(Path("plain"), Path("sealed"));
  ASSERT_TRUE(sealed.ok());
  std::string bytes = Read(Path("sealed"));
  // A flipped byte: the digest differs.
  std::string flipped = bytes;
  flipped[100] ^= 1;
  Write(Path("flipped"), flipped);
  auto refused = OpenSealedFile(Path("flipped"), Path("out"), sealed->key, sealed->digest);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kBadRequest);
  EXPECT_FALSE(std::filesystem::exists(Path("out")));
  // The right digest with the wrong key (or a digest that lies): the tag fails, nothing is left.
  std::string other_key = sealed->key;
  other_key[0] ^= 1;
  refused = OpenSealedFile(Path("sealed"), Path("out"), other_key, sealed->digest);
  ASSERT_FALSE(refused.ok());
  EXPECT_FALSE(std::filesystem::exists(Path("out")));
  // Cut short.
  Write(Path("short"), bytes.substr(0, 20));
  EXPECT_FALSE(OpenSealedFile(Path("short"), Path("out"), sealed->key, sealed->digest).ok());
  // Two seals of one file share nothing (a new key and nonce each time).
  auto again = SealFile(Path("plain"), Path("sealed2"));
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->key, sealed->key);
  EXPECT_NE(Read(Path("sealed2")), bytes);
}

}  // namespace
}  // namespace natter::client
