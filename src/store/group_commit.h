// Group commit, the write path both stores share: a writer thread takes the
// writes queued for it a batch at a time and commits each batch as one
// transaction, in which a failing operation undoes only itself (a savepoint
// each; PostgreSQL's pipelined batch runs again with them when one that
// wrote fails). Nothing of a batch is acknowledged unless all of it committed.
//
// A store supplies the backend, one connection's side of it:
//   Status Begin(const std::vector<W>& batch, const std::vector<int64_t>& wait_for)
//                              opens the batch's transaction; it may pass over
//                              conversations another transaction holds, except
//                              those in `wait_for`, whose turn it waits for
//   bool PutsOff(const W&)     the write's conversation was passed over: the
//                              write runs in the next batch, first
//   Status RunOp(W& write)     runs one operation, undone alone if it fails
//   bool Usable()              the transaction can still commit what ran
//   Status Commit()
//   void Rollback()            ends a failed transaction, whatever state it is in
//   bool LostRace()            the last failure was a deadlock or serialization
//                              race: the whole batch may run again
//   void Answer(BatchAnswers)  tells the batch's callers, now or once what
//                              it committed is durable, in commit order
//   void Answered()            upkeep after a batch, which no answer waits for
// Not thread-safe: one writer thread runs one backend.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/guarded.h"
#include "common/request_id.h"
#include "natter/status.h"
#include "store/commit_order.h"
#include "store/store.h"
#include "store/work_queue.h"

namespace natter {

// What one batch's callers are told: each write's status and commit turn.
class BatchAnswers {
 public:
  void Add(std::function<void(Status, CommitTurn)> done, Status status, CommitTurn turn, RequestId request) {
    answers_.push_back({std::move(done), std::move(status), std::move(turn), request});
  }
  // Runs each `done` in order. Not `durable`: what the batch committed may
  // or may not have reached the disk (it failed a sync), so no write of it
  // may be acknowledged.
  void Send(bool durable) {
    for (auto& a : answers_) {
      ScopedRequestId scope(a.request);  // the answer is posted with it
      RunCatching("store writer callback", [&] {
        if (!durable && a.status.ok()) a.status = NotDurableError();
        a.done(std::move(a.status), std::move(a.turn));
      });
    }
    answers_.clear();
  }

 private:
  struct Answer {
    std::function<void(Status, CommitTurn)> done;
    Status status;
    CommitTurn turn;
    RequestId request;
  };
  std::vector<Answer> answers_;
};

// Runs `batch` in one transaction; `results` gets a status per write and
// `outcome` whether the storage took it (not: the transaction was lost, or an
// operation met storage that is unavailable). The writes the backend puts off
// move, in order, from `batch` to the end of `put_off`. Returns true when the
// transaction lost a race and the batch should run again.
template <class W, class Backend>
bool CommitBatch(Backend& backend, std::vector<W>& batch, std::vector<W>& put_off, const std::vector<int64_t>& wait_for,
                 std::vector<Status>& results, Status& outcome) {
  results.clear();
  outcome = OkStatus();
  // The transaction is lost (or never began): no write of the batch may be
  // acknowledged, not even the ones that ran.
  auto fail_all = [&](const char* why) {
    bool again = backend.LostRace();
    backend.Rollback();
    results.assign(batch.size(), Status(Unavailable(why)));
    outcome = Unavailable(why);
    return again;
  };
  if (!backend.Begin(batch, wait_for).ok()) return fail_all("storage is unavailable");
  auto kept = std::stable_partition(batch.begin(), batch.end(), [&](const W& w) { return !backend.PutsOff(w); });
  std::move(kept, batch.end(), std::back_inserter(put_off));
  batch.erase(kept, batch.end());
  for (auto& w : batch) {
    Status st = backend.RunOp(w);
    if (!backend.Usable()) return fail_all("storage is unavailable");
    // Domain refusals are the op's own; `unavailable` is the storage's.
    if (!st.ok() && st.error().code == ErrorCode::kUnavailable) outcome = st;
    results.push_back(std::move(st));
  }
  if (!backend.Commit().ok()) return fail_all("storage commit failed");
  return false;
}

// How many batches in a row may pass over a conversation another
// transaction holds before one waits for it: passing over keeps a writer
// busy with the conversations nobody holds, and the bound keeps one that is
// always held by someone from waiting without end.
inline constexpr int kMaxPassesOver = 3;

// How many batches in a row passed over each conversation another
// transaction held, and so which ones the next batch waits for.
class PassedOver {
 public:
  // Those passed over kMaxPassesOver times in a row, or every one when the
  // batch holds nothing but their writes (`only_held`): passing over would
  // then only spin.
  void WaitFor(bool only_held, std::vector<int64_t>& out) const {
    out.clear();
    for (const auto& [conversation, times] : times_) {
      if (times >= kMaxPassesOver || only_held) out.push_back(conversation);
    }
  }
  // After a batch: the conversations whose writes ran are no longer passed
  // over; those whose writes it put off were, once more (once a batch,
  // however many of their writes it put off).
  template <class W>
  void Count(const std::vector<W>& ran, const std::vector<W>& put_off) {
    for (const auto& w : ran) times_.erase(w.conversation);
    passed_.clear();
    for (const auto& w : put_off) passed_.push_back(w.conversation);
    std::sort(passed_.begin(), passed_.end());
    passed_.erase(std::unique(passed_.begin(), passed_.end()), passed_.end());
    for (int64_t conversation : passed_) ++times_[conversation];
  }

 private:
  std::unordered_map<int64_t, int> times_;  // conversation: batches in a row
  std::vector<int64_t> passed_;
};

// The writer thread's loop: batches of at most `max_batch` until `queue`
// stops and drains (and nothing put off is left); a batch that lost a race
// runs again, at most `max_attempts` times in all. What a batch put off leads
// the next one, so each conversation's writes keep their order (writes of no
// conversation queued after them may commit first). Each write's
// `done` gets its status after the batch's outcome is known, with its turn in
// `order`, through the backend's Answer; `report` gets the outcome of each
// batch, its size and how long it took (microseconds).
template <class W, class Backend, class Report>
void RunGroupCommit(WorkQueue<W>& queue, size_t max_batch, int max_attempts, Backend& backend, CommitOrder& order,
                    Report report) {
  std::vector<W> batch, put_off;
  std::vector<Status> results;
  std::vector<int64_t> wait_for;
  PassedOver passed_over;
  Status outcome = OkStatus();
  for (;;) {
    batch.swap(put_off);
    size_t held = batch.size();
    if (batch.empty()) {
      if (!queue.PopBatch(batch, max_batch)) break;
    } else {
      queue.TakeQueued(batch, max_batch);
    }
    passed_over.WaitFor(/*only_held=*/held > 0 && batch.size() == held, wait_for);
    auto started = std::chrono::steady_clock::now();
    for (int attempt = 1;; ++attempt) {
      bool again = CommitBatch(backend, batch, put_off, wait_for, results, outcome);
      if (!again || attempt >= max_attempts) break;
    }
    passed_over.Count(batch, put_off);
    if (!batch.empty()) {
      report(outcome, batch.size(),
             std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count());
    }
    BatchAnswers answers;
    for (size_t i = 0; i < batch.size(); ++i) {
      answers.Add(std::move(batch[i].done), std::move(results[i]), order.Next(), batch[i].request);
    }
    batch.clear();
    backend.Answer(std::move(answers));
    backend.Answered();
  }
}

}  // namespace natter
