// The writer loop both stores share, over a backend that holds some
// conversations as another node's transaction would: what a batch puts off
// leads the next batch, in order, and a conversation passed over too often is
// waited for.
#include "store/group_commit.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace natter {
namespace {

struct Write {
  int64_t conversation = 0;
  std::string name;
  std::function<void(Status, CommitTurn)> done;
  RequestId request;
};

class HoldingBackend {
 public:
  explicit HoldingBackend(std::set<int64_t> held) : held_(std::move(held)) {}

  Status Begin(const std::vector<Write>&, const std::vector<int64_t>& wait_for) {
    wait_fors.emplace_back(wait_for.begin(), wait_for.end());
    for (int64_t c : wait_for) held_.erase(c);  // waited until the other transaction ended
    runs.emplace_back();
    return OkStatus();
  }
  bool PutsOff(const Write& w) const { return held_.contains(w.conversation); }
  Status RunOp(Write& w) {
    runs.back().push_back(w.name);
    if (on_run) on_run(w);
    return OkStatus();
  }
  bool Usable() { return !lose_race; }
  Status Commit() { return OkStatus(); }
  void Rollback() {}
  bool LostRace() { return std::exchange(lose_race, false); }
  void Answer(BatchAnswers answers) { answers.Send(true); }
  void Answered() {}

  std::vector<std::vector<std::string>> runs;  // per batch
  std::vector<std::set<int64_t>> wait_fors;    // per batch
  std::function<void(const Write&)> on_run;
  bool lose_race = false;  // the running batch's transaction is lost, and runs again

 private:
  std::set<int64_t> held_;
};

class GroupCommitTest : public ::testing::Test {
 protected:
  void Push(int64_t conversation, const std::string& name) {
    Write w;
    w.conversation = conversation;
    w.name = name;
    w.done = [this, name](Status st, CommitTurn) {
      EXPECT_TRUE(st.ok()) << name;
      answered.push_back(name);
      if (answered.size() == expected) queue.Stop();
    };
    ASSERT_EQ(queue.Push(w), WorkQueue<Write>::Refusal::kNone);
  }
  void Run(HoldingBackend& backend) {
    auto order = std::make_shared<CommitOrder>();  // it hands out turns that refer to it
    RunGroupCommit(queue, 10, 2, backend, *order, [](const Status&, size_t, int64_t) {});
  }

  WorkQueue<Write> queue{100};
  std::vector<std::string> answered;
  size_t expected = 0;
};

TEST_F(GroupCommitTest, AHeldConversationIsPassedOverThenWaitedForAndKeepsItsOrder) {
  HoldingBackend backend({1});
  expected = 7;
  Push(1, "held 1");
  Push(2, "free 1");
  // Each free write queues the next, so every batch has other work; the
  // first also queues a second write to the held conversation, after what
  // that batch puts off.
  backend.on_run = [&](const Write& w) {
    if (w.name == "free 1") Push(1, "held 2");
    if (w.name.starts_with("free ") && w.name != "free 5") Push(2, "free " + std::to_string(w.name.back() - '0' + 1));
  };
  Run(backend);
  ASSERT_EQ(kMaxPassesOver, 3);
  EXPECT_EQ(backend.runs, (std::vector<std::vector<std::string>>{
                              {"free 1"}, {"free 2"}, {"free 3"}, {"held 1", "held 2", "free 4"}, {"free 5"}}));
  EXPECT_EQ(backend.wait_fors, (std::vector<std::set<int64_t>>{{}, {}, {}, {1}, {}}));
  EXPECT_EQ(answered, (std::vector<std::string>{"free 1", "free 2", "free 3", "held 1", "held 2", "free 4", "free 5"}));
}

// Passing over helps only while there is other work: a batch of nothing but
// put-off writes waits for their conversations at once.
TEST_F(GroupCommitTest, ABatchOfOnlyPutOffWritesWaitsAtOnce) {
  HoldingBackend backend({1});
  expected = 1;
  Push(1, "held");
  queue.Stop();
  Run(backend);
  EXPECT_EQ(backend.runs, (std::vector<std::vector<std::string>>{{}, {"held"}}));
  EXPECT_EQ(backend.wait_fors, (std::vector<std::set<int64_t>>{{}, {1}}));
}

// A batch that runs again keeps what its first attempt put off put off, and
// answers every write once.
TEST_F(GroupCommitTest, ABatchThatRunsAgainAnswersEachWriteOnce) {
  HoldingBackend backend({1});
  expected = 3;
  Push(1, "held");
  Push(2, "free 1");
  Push(2, "free 2");
  bool lost = false;
  backend.on_run = [&](const Write&) {
    if (!lost) backend.lose_race = lost = true;
  };
  queue.Stop();
  Run(backend);
  EXPECT_EQ(backend.runs, (std::vector<std::vector<std::string>>{{"free 1"}, {"free 1", "free 2"}, {"held"}}));
  EXPECT_EQ(answered, (std::vector<std::string>{"free 1", "free 2", "held"}));
}

// The queue stopped: what a batch put off still runs before the writer ends.
TEST_F(GroupCommitTest, WritesPutOffWhenTheQueueStopsStillRun) {
  HoldingBackend backend({7});
  expected = 2;
  Push(7, "held");
  Push(8, "free");
  queue.Stop();
  Run(backend);
  EXPECT_EQ(answered, (std::vector<std::string>{"free", "held"}));
  EXPECT_EQ(backend.runs, (std::vector<std::vector<std::string>>{{"free"}, {"held"}}));
}

}  // namespace
}  // namespace natter
