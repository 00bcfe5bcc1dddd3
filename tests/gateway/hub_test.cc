// Fan-out keeps the order events were published in, on every worker, even
// when they are published from different threads and one of them is the
// recipient's own worker (Asio queues a worker's posts to itself privately,
// behind what other threads post meanwhile).
#include "gateway/hub.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "common/mutex.h"

namespace natter::gateway {
namespace {

// A connection that records the seqs it is given.
class RecordingTarget final : public EventTarget {
 public:
  uint64_t id() const override { return 7; }
  SessionId session() const override { return 1; }
  void EnqueueEvent(const EventFrame& event) override {
    MutexLock lock(mu_);
    seqs_.push_back(event.seq);
    cv_.notify_all();
  }
  void TellToResync(const char*) override {}
  void TellToSync(const char* reason) override {
    MutexLock lock(mu_);
    syncs_.emplace_back(reason);
    cv_.notify_all();
  }
  void Close(uint16_t, std::string_view) override {}

  // Waits (at most 10 s) for `n` requests to sync; returns their reasons.
  std::vector<std::string> WaitForSyncs(size_t n) {
    MutexLock lock(mu_);
    lock.WaitFor(cv_, std::chrono::seconds(10), [&]() REQUIRES(mu_) { return syncs_.size() >= n; });
    return syncs_;
  }

  // Waits (at most 10 s) for `n` events; returns what came.
  std::vector<Seq> WaitFor(size_t n) {
    MutexLock lock(mu_);
    lock.WaitFor(cv_, std::chrono::seconds(10), [&]() REQUIRES(mu_) { return seqs_.size() >= n; });
    return seqs_;
  }

 private:
  Mutex mu_;
  std::condition_variable cv_;
  std::vector<Seq> seqs_ GUARDED_BY(mu_);
  std::vector<std::string> syncs_ GUARDED_BY(mu_);
};

Event MessageEvent(UserId to, Seq seq) {
  Event e;
  e.recipients.push_back(EventRecipient{to, 0});
  e.payload = std::make_shared<const std::string>(R"({"type":"message"})");
  e.conversation_id = 1;
  e.seq = seq;
  return e;
}

// Runs `fn` on `w`'s thread and waits for it.
void OnWorker(Worker& w, std::function<void()> fn) {
  std::promise<void> done;
  w.Post([&] {
    fn();
    done.set_value();
  });
  done.get_future().wait();
}

TEST(HubTest, EventsPublishedFromTheWorkerAndAnotherThreadKeepTheirOrder) {
  constexpr UserId kUser = 42;
  std::vector<std::unique_ptr<Worker>> workers;
  workers.push_back(std::make_unique<Worker>(0));
  workers.push_back(std::make_unique<Worker>(1));
  for (auto& w : workers) w->Start();
  RecordingTarget target;
  OnWorker(*workers[0], [&] { workers[0]->AddConnection(kUser, &target); });
  Hub hub(workers);
  for (Seq round = 0; round < 20; ++round) {
    // Inside one handler on the recipient's worker: publish one event from
    // here, then another from a second thread, in that order.
    OnWorker(*workers[0], [&] {
      hub.Deliver(MessageEvent(kUser, 2 * round + 1));
      std::thread other([&] { hub.Deliver(MessageEvent(kUser, 2 * round + 2)); });
      other.join();
    });
  }
  std::vector<Seq> got = target.WaitFor(40);
  std::vector<Seq> expected;
  for (Seq s = 1; s <= 40; ++s) expected.push_back(s);
  EXPECT_EQ(got, expected);
  OnWorker(*workers[0], [&] { workers[0]->RemoveConnection(kUser, &target); });
  for (auto& w : workers) {
    w->Stop();
    w->Join();
  }
}

TEST(HubTest, UsersWhoseConversationWasFollowedLateAreToldToSyncOnEveryWorker) {
  std::vector<std::unique_ptr<Worker>> workers;
  workers.push_back(std::make_unique<Worker>(0));
  workers.push_back(std::make_unique<Worker>(1));
  for (auto& w : workers) w->Start();
  RecordingTarget first, second, other;
  OnWorker(*workers[0], [&] { workers[0]->AddConnection(5, &first); });
  OnWorker(*workers[1], [&] { workers[1]->AddConnection(5, &second); });
  OnWorker(*workers[1], [&] { workers[1]->AddConnection(6, &other); });
  Hub hub(workers);
  hub.FollowedLate({5, 9});
  EXPECT_EQ(first.WaitForSyncs(1), std::vector<std::string>{"conversation_followed"});
  EXPECT_EQ(second.WaitForSyncs(1), std::vector<std::string>{"conversation_followed"});
  for (auto& w : workers) OnWorker(*w, [] {});  // what the hub posted has run
  EXPECT_TRUE(other.WaitForSyncs(0).empty());
  OnWorker(*workers[0], [&] { workers[0]->RemoveConnection(5, &first); });
  OnWorker(*workers[1], [&] { workers[1]->RemoveConnection(5, &second); });
  OnWorker(*workers[1], [&] { workers[1]->RemoveConnection(6, &other); });
  for (auto& w : workers) {
    w->Stop();
    w->Join();
  }
}

}  // namespace
}  // namespace natter::gateway
