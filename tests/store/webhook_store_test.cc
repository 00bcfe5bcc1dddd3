// The webhook part of the Store contract (docs/webhooks.md): a committed
// event queues its webhook in the same transaction, once; account events
// queue on the accounts' partition; a claim holds events for its lease and
// is fenced by its token; a retry counts an attempt. What a delivery says is
// read when it is sent: a message deleted since goes without its text. Run
// on SQLite and PostgreSQL alike (two partitions there).
#include <boost/json/parse.hpp>

#include <algorithm>

#include "api/webhook_body.h"
#include "chat/message_lifecycle.h"
#include "store/store_contract.h"
#include "store/webhook_events.h"

namespace natter::testing {
namespace {

namespace json = boost::json;

class WebhookStore : public StoreContractTest {
 protected:
  std::vector<WebhookJob> Claim(int partition, int64_t now, int64_t lease, int limit = 50) {
    int64_t mine = ++token;
    auto r = WriteSync<std::vector<WebhookJob>>(
        *store, partition, [=](ConversationTxn& txn) { return txn.ClaimWebhooks(now, lease, limit, mine); });
    EXPECT_TRUE(r.ok()) << r.error().message;
    if (!r.ok()) return {};
    // RETURNING promises no order.
    std::sort(r->begin(), r->end(), [](const WebhookJob& a, const WebhookJob& b) { return a.id < b.id; });
    return std::move(*r);
  }
  int64_t Depth(int partition) {
    auto stats =
        ReadSync<WebhookQueueStats>(*store, partition, [](ConversationTxn& txn) { return txn.GetWebhookQueueStats(); });
    EXPECT_TRUE(stats.ok());
    return stats.ok() ? stats->depth : -1;
  }
  json::value TimelineBody(int partition, const WebhookJob& job) {
    auto subject = ReadSync<hooks::WebhookSubject>(
        *store, partition, [job](ConversationTxn& txn) { return hooks::ReadTimelineSubject(txn, job); });
    EXPECT_TRUE(subject.ok()) << subject.error().message;
    return subject.ok() ? json::parse(api::WebhookBody(job, *subject)) : json::value();
  }
  int64_t token = 100;
};

TEST_P(WebhookStore, ACommittedEventQueuesItsWebhookOnItsPartitionOnce) {
  int last = store->Partitions() - 1;
  UserId alice = AddUser("alice"), bob = AddUser("bob"), carol = AddUser("carol");
  ConversationId quiet = AddGroup(alice, {bob}, last);
  ASSERT_TRUE(Send(*store, quiet, alice, "m0").ok());
  EXPECT_EQ(Depth(last), 0) << "nothing is queued while no webhook is configured";

  limits.webhooks.mask =
      static_cast<uint32_t>(WebhookEvent::kMessageCreated) | static_cast<uint32_t>(WebhookEvent::kMemberJoined);
  ConversationId g = AddGroup(alice, {bob}, last);  // a new group's first members join no one
  auto added = WriteSync<bool>(*store, last, [=, this](ConversationTxn& txn) -> Result<bool> {
    NATTER_TRY(auto view, chat::AddMembers(txn, chat::Context{alice, 1500}, limits, g, {carol}, Role::kMember, {}));
    return view.members.size() == 3;
  });
  ASSERT_TRUE(added.ok() && *added) << (added.ok() ? "not added" : added.error().message);
  auto sent = Send(*store, g, bob, "m1", "first words");
  ASSERT_TRUE(sent.ok()) << sent.error().message;
  ASSERT_TRUE(Send(*store, g, bob, "m1", "first words").ok());  // a retry: nothing new
  auto jobs = Claim(last, 5000, 9000);
  ASSERT_EQ(jobs.size(), 2u) << "one join and one message";
  EXPECT_EQ(jobs[0].type, "member.joined");
  EXPECT_EQ(jobs[1].type, "message.created");
  const WebhookJob& created = jobs[1];
  EXPECT_EQ(created.event_id, std::to_string(g) + "." + std::to_string(sent->message.seq));
  EXPECT_EQ(created.conversation_id, g);
  EXPECT_EQ(created.seq, sent->message.seq);
  EXPECT_EQ(created.attempts, 0);

  // Queued again (a write retried after an unknown outcome): still one.
  auto again = WriteSync<bool>(*store, last, [message = sent->message](ConversationTxn& txn) -> Result<bool> {
    NATTER_RETURN_IF_ERROR(txn.QueueWebhook(TimelineWebhookJob(message)));
    return true;
  });
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(Depth(last), 2);
  if (last != 0) {
    EXPECT_EQ(Depth(0), 0) << "a conversation's events queue where it lives";
  }

  // What it says is read when it is sent.
  json::value body = TimelineBody(last, created);
  EXPECT_EQ(body.at("id").as_string(), created.event_id);
  EXPECT_EQ(body.at("type").as_string(), "message.created");
  EXPECT_EQ(body.at("data").at("event").at("text").as_string(), "first words");
  EXPECT_EQ(body.at("data").at("event").at("sender_id").as_int64(), bob);
  EXPECT_EQ(body.at("data").at("conversation").at("id").as_int64(), g);
  json::value joined = TimelineBody(last, jobs[0]);
  EXPECT_EQ(joined.at("data").at("event").at("kind").as_string(), "member_joined");
  EXPECT_EQ(joined.at("data").at("event").at("target_user").as_int64(), carol);
  auto erased = WriteSync<bool>(*store, last, [g, seq = sent->message.seq](ConversationTxn& txn) -> Result<bool> {
    NATTER_RETURN_IF_ERROR(txn.EraseMessage(g, seq));
    return true;
  });
  ASSERT_TRUE(erased.ok()) << erased.error().message;
  body = TimelineBody(last, created);
  EXPECT_FALSE(body.at("data").at("event").as_object().contains("text")) << body;
  EXPECT_TRUE(body.at("data").at("event").at("deleted").as_bool());
}

TEST_P(WebhookStore, AccountEventsQueueWithTheAccounts) {
  UserId alice = AddUser("alice"), bob = AddUser("bob");
  auto filed = WriteAccountsSync<int64_t>(*store, [=](AccountsTxn& txn) -> Result<int64_t> {
    NATTER_TRY(int64_t id, txn.InsertReport(Report{0, 1, alice, bob, 0, 0, "spam", "he spams", ""}));
    NATTER_RETURN_IF_ERROR(txn.QueueAccountWebhook(AccountWebhookJob(WebhookEvent::kReportFiled, id, 4000)));
    NATTER_RETURN_IF_ERROR(txn.QueueAccountWebhook(AccountWebhookJob(WebhookEvent::kReportFiled, id, 4000)));
    NATTER_RETURN_IF_ERROR(txn.QueueAccountWebhook(AccountWebhookJob(WebhookEvent::kUserRegistered, bob, 4001)));
    return id;
  });
  ASSERT_TRUE(filed.ok()) << filed.error().message;
  auto jobs = Claim(0, 5000, 9000);
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].event_id, "report.filed." + std::to_string(*filed));
  EXPECT_EQ(jobs[0].subject, *filed);
  EXPECT_EQ(jobs[0].conversation_id, 0);
  EXPECT_EQ(jobs[1].event_id, "user.registered." + std::to_string(bob));

  using Subjects = std::pair<hooks::WebhookSubject, hooks::WebhookSubject>;
  auto subjects = ReadAccountsSync<Subjects>(*store, [jobs](AccountsTxn& txn) -> Result<Subjects> {
    NATTER_TRY(auto report, hooks::ReadAccountSubject(txn, jobs[0]));
    NATTER_TRY(auto user, hooks::ReadAccountSubject(txn, jobs[1]));
    return Subjects{std::move(report), std::move(user)};
  });
  ASSERT_TRUE(subjects.ok()) << subjects.error().message;
  json::value report = json::parse(api::WebhookBody(jobs[0], subjects->first));
  json::value user = json::parse(api::WebhookBody(jobs[1], subjects->second));
  EXPECT_EQ(report.at("data").at("report").at("text").as_string(), "he spams");
  EXPECT_EQ(report.at("data").at("report").at("reporter").as_int64(), alice);
  EXPECT_EQ(user.at("data").at("user").at("handle").as_string(), "bob");
  EXPECT_FALSE(user.at("data").at("user").as_object().contains("password_hash"));
}

TEST_P(WebhookStore, AClaimHoldsForItsLeaseAndOnlyItsHolderEndsIt) {
  int last = store->Partitions() - 1;
  auto queue = [&](const std::string& id, int64_t at) {
    WebhookJob j;
    j.event_id = id;
    j.type = "message.created";
    j.conversation_id = 77;
    j.seq = 1;
    j.created_at = at;
    j.due_at = at;
    auto r = WriteSync<bool>(*store, last, [j](ConversationTxn& txn) -> Result<bool> {
      NATTER_RETURN_IF_ERROR(txn.QueueWebhook(j));
      return true;
    });
    ASSERT_TRUE(r.ok()) << r.error().message;
  };
  auto write = [&](auto fn) {  // `fn` is copied into the write: it holds copies of jobs
    auto r = WriteSync<bool>(*store, last, [fn](ConversationTxn& txn) -> Result<bool> {
      NATTER_RETURN_IF_ERROR(fn(txn));
      return true;
    });
    EXPECT_TRUE(r.ok()) << r.error().message;
  };
  queue("77.1", 1000);
  queue("77.2", 1500);
  queue("77.3", 3000);
  EXPECT_TRUE(Claim(last, 999, 2000).empty()) << "not due yet";
  auto first = Claim(last, 1000, 2000, 1);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].event_id, "77.1");
  auto second = Claim(last, 1600, 2000);
  ASSERT_EQ(second.size(), 1u) << "the claimed one is not handed out again within its lease";
  EXPECT_EQ(second[0].event_id, "77.2");
  auto again = Claim(last, 2000, 4000);  // both leases ended: their worker died
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].id, first[0].id);
  EXPECT_NE(again[0].claim, first[0].claim);

  // The first claimer, back, can neither finish nor retry it.
  write([stale = first[0]](ConversationTxn& txn) { return txn.FinishWebhook(stale); });
  write([stale = first[0]](ConversationTxn& txn) { return txn.RetryWebhook(stale, 1, true); });
  EXPECT_EQ(Depth(last), 3);
  EXPECT_TRUE(Claim(last, 2500, 5000).empty()) << "a stale claimer released an event";

  // The holder retries one (an attempt counted, due later) and finishes the other.
  write([job = again[0]](ConversationTxn& txn) { return txn.RetryWebhook(job, 6000, true); });
  write([job = again[1]](ConversationTxn& txn) { return txn.FinishWebhook(job); });
  auto stats =
      ReadSync<WebhookQueueStats>(*store, last, [](ConversationTxn& txn) { return txn.GetWebhookQueueStats(); });
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->depth, 2);
  EXPECT_EQ(stats->oldest_created_at, 1000);
  auto due = Claim(last, 5999, 9000);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].event_id, "77.3");
  auto retried = Claim(last, 6000, 9000);
  ASSERT_EQ(retried.size(), 1u);
  EXPECT_EQ(retried[0].event_id, "77.1");
  EXPECT_EQ(retried[0].attempts, 1);
  // Put back untried (a batch cut short): due again, no attempt counted.
  write([job = retried[0]](ConversationTxn& txn) { return txn.RetryWebhook(job, 6500, false); });
  auto untried = Claim(last, 6500, 9500);
  ASSERT_EQ(untried.size(), 1u);
  EXPECT_EQ(untried[0].attempts, 1);
}

INSTANTIATE_TEST_SUITE_P(Sqlite, WebhookStore, ::testing::Values("sqlite"));
INSTANTIATE_TEST_SUITE_P(Postgres, WebhookStore, ::testing::ValuesIn(PostgresParams()));
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(WebhookStore);

}  // namespace
}  // namespace natter::testing
