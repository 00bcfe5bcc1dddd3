#include "presence/member_lists.h"

#include <gtest/gtest.h>

namespace natter::presence {
namespace {

MemberLists::Ids Of(std::vector<UserId> ids) { return std::make_shared<const std::vector<UserId>>(std::move(ids)); }

TEST(MemberLists, AListIsFoundOnlyAtTheVersionItWasReadAt) {
  MemberLists lists;
  EXPECT_EQ(lists.Find(7, 0), nullptr);
  lists.Keep(7, 2, Of({1, 2}));
  ASSERT_NE(lists.Find(7, 2), nullptr);
  EXPECT_EQ(*lists.Find(7, 2), (std::vector<UserId>{1, 2}));
  EXPECT_EQ(lists.Find(7, 3), nullptr) << "members changed since";
  EXPECT_EQ(lists.Find(8, 2), nullptr);
}

TEST(MemberLists, AnOlderReadDoesNotReplaceANewerOne) {
  MemberLists lists;
  lists.Keep(7, 3, Of({1, 2, 3}));
  lists.Keep(7, 2, Of({1, 2}));  // a slower reader finishing last
  EXPECT_EQ(lists.Find(7, 2), nullptr);
  ASSERT_NE(lists.Find(7, 3), nullptr);
  lists.Keep(7, 4, Of({1}));
  EXPECT_EQ(*lists.Find(7, 4), (std::vector<UserId>{1}));
  EXPECT_EQ(lists.bytes(), 128 + sizeof(UserId));
}

TEST(MemberLists, PastItsBoundItStartsOver) {
  // Room for two lists of three ids (152 bytes each), not three.
  MemberLists lists(/*max_bytes=*/2 * (128 + 3 * sizeof(UserId)));
  lists.Keep(1, 0, Of({1, 2, 3}));
  lists.Keep(2, 0, Of({4, 5, 6}));
  EXPECT_NE(lists.Find(1, 0), nullptr);
  lists.Keep(3, 0, Of({7, 8, 9}));
  EXPECT_EQ(lists.Find(1, 0), nullptr);
  EXPECT_EQ(lists.Find(2, 0), nullptr);
  ASSERT_NE(lists.Find(3, 0), nullptr);
  EXPECT_EQ(lists.bytes(), 128 + 3 * sizeof(UserId));
  std::vector<UserId> many(100, 1);
  lists.Keep(4, 0, Of(many));  // larger than the bound: not kept
  EXPECT_EQ(lists.Find(4, 0), nullptr);
  EXPECT_NE(lists.Find(3, 0), nullptr);
  EXPECT_EQ(lists.kept(), 4u);
}

}  // namespace
}  // namespace natter::presence
