// The writer loop both stores share, over a backend that holds some
// conversations as another node's transaction would: what a batch puts off
// leads the next batch, in order, and a conversation passed over too often is
// waited for.
#include "store/group_commit.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
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
  bool Usable() { return true; }
  Status Commit() { return OkStatus(); }
  void Rollback() {}
  bool LostRace() { return false; }
  void Answer(BatchAnswers answers) { answers.Send(true); }
  void Answered() {}

  std::vector<std::vector<std::string>> runs;  // per batch
  std::vector<std::set<int64_t>> wait_fors;    // per batch
  std::function<void(const Write&)> on_run;

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
    RunGroupCommit(queue, 10, 1, backend, *order, [](const Status&, size_t, int64_t) {});
  }

  WorkQueue<Write> queue{100};
  std::vector<std::string> answered;
  size_t expected = 0;
};

TEST_F(GroupCommitTest, AHeldConversationIsPassedOverThenWaitedForAndKeepsItsOrder) {
  HoldingBackend backend({1});
  expected = 4;
  Push(1, "held 1");
  Push(2, "free 1");
  // Queued while the first batch runs: after what that batch puts off.
  backend.on_run = [&](const Write& w) {
    if (w.name != "free 1") return;
    Push(1, "held 2");
    Push(2, "free 2");
  };
  Run(backend);
  ASSERT_EQ(kMaxPassesOver, 3);
  EXPECT_EQ(backend.runs, (std::vector<std::vector<std::string>>{{"free 1"}, {"free 2"}, {}, {"held 1", "held 2"}}));
  EXPECT_EQ(backend.wait_fors, (std::vector<std::set<int64_t>>{{}, {}, {}, {1}}));
  EXPECT_EQ(answered, (std::vector<std::string>{"free 1", "free 2", "held 1", "held 2"}));
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
  EXPECT_EQ(backend.runs.back(), std::vector<std::string>{"held"});
}

}  // namespace
}  // namespace natter
