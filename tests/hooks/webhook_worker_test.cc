// The webhook worker against a sender that answers what a test says
// (docs/webhooks.md): a delivery is signed and carries the event; a failure
// comes back after its backoff, counted; an event past the give-up time is
// dropped unsent; a batch cut short by a stop is put back untried.
#include "hooks/webhook_worker.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "api/webhook_body.h"
#include "fakes/temp_db.h"
#include "hooks/webhook_signature.h"
#include "store/store_waits.h"
#include "store/webhook_events.h"

namespace natter::hooks {
namespace {

constexpr char kSecret[] = "worker-test-secret-0123456789";

class WebhookWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = testing::MakeTempDir("natter-webhooks");
    store = OpenSqliteStore(SqliteOptions{dir + "/natter.db"});
    WebhookOptions options;
    options.url = "http://127.0.0.1:9/hook";
    options.secret = kSecret;
    options.give_up_ms = 60'000;
    worker = std::make_unique<WebhookWorker>(*store, clock, metrics, options, api::WebhookBody,
                                             [this](const std::vector<push::HttpRequest>& requests) {
                                               std::vector<push::HttpResponse> answers;
                                               for (const auto& r : requests) {
                                                 sent.push_back(r);
                                                 push::HttpResponse a;
                                                 a.status = status;
                                                 if (status == 0) a.error = error;
                                                 answers.push_back(a);
                                               }
                                               return answers;
                                             });
  }
  void TearDown() override {
    worker.reset();
    store.reset();
    std::filesystem::remove_all(dir);
  }

  // A message whose message.created is queued, at the clock's time.
  void QueueMessage() {
    Message m;
    m.conversation_id = 77;
    m.seq = ++seq;
    m.kind = EventKind::kMessage;
    m.created_at = clock.NowMs();
    auto r = WriteSync<bool>(*store, 0, [m](ConversationTxn& txn) -> Result<bool> {
      NATTER_RETURN_IF_ERROR(txn.QueueWebhook(TimelineWebhookJob(m)));
      return true;
    });
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  int64_t Depth() {
    auto s = ReadSync<WebhookQueueStats>(*store, 0, [](ConversationTxn& txn) { return txn.GetWebhookQueueStats(); });
    return s.ok() ? s->depth : -1;
  }
  std::string Header(const push::HttpRequest& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return "";
  }
  std::string Rendered() {
    std::string out;
    metrics.Render(out);
    return out;
  }

  std::string dir;
  std::unique_ptr<Store> store;
  ManualClock clock{1'800'000'000'000};
  ops::WebhookMetrics metrics;
  std::unique_ptr<WebhookWorker> worker;
  std::vector<push::HttpRequest> sent;
  int status = 204;
  std::string error;
  Seq seq = 0;
};

TEST_F(WebhookWorkerTest, ADeliveryIsSignedAndEndsTheEvent) {
  QueueMessage();
  EXPECT_TRUE(worker->RunOnce());
  ASSERT_EQ(sent.size(), 1u);
  const auto& r = sent[0];
  EXPECT_EQ(Header(r, "Natter-Event-Id"), "77.1");
  EXPECT_EQ(Header(r, "Natter-Event-Type"), "message.created");
  EXPECT_EQ(Header(r, "Natter-Delivery-Attempt"), "1");
  EXPECT_EQ(Header(r, "Natter-Signature"), SignWebhook(kSecret, clock.NowSeconds(), r.body));
  EXPECT_NE(r.body.find(R"("id":"77.1")"), std::string::npos) << r.body;
  EXPECT_EQ(Depth(), 0);
  EXPECT_FALSE(worker->RunOnce()) << "nothing is left to send";
  EXPECT_NE(Rendered().find("natter_webhook_delivered_total 1"), std::string::npos);
}

TEST_F(WebhookWorkerTest, AFailureComesBackAfterItsBackoff) {
  QueueMessage();
  status = 503;
  EXPECT_TRUE(worker->RunOnce());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(Depth(), 1);
  clock.Advance(700);  // the first wait is 1 s, a fifth either way
  EXPECT_FALSE(worker->RunOnce()) << "tried again before its backoff";
  clock.Advance(600);
  status = 204;
  EXPECT_TRUE(worker->RunOnce());
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(Header(sent[1], "Natter-Delivery-Attempt"), "2");
  EXPECT_EQ(Depth(), 0);
  EXPECT_NE(Rendered().find(R"(natter_webhook_failed_total{reason="5xx"} 1)"), std::string::npos);
}

TEST_F(WebhookWorkerTest, AnEventPastTheGiveUpTimeIsDroppedUnsent) {
  QueueMessage();
  clock.Advance(61'000);  // webhooks were off, or the receiver down, all that time
  EXPECT_TRUE(worker->RunOnce());
  EXPECT_TRUE(sent.empty()) << "an event past its give-up time was sent";
  EXPECT_EQ(Depth(), 0);
  EXPECT_NE(Rendered().find("natter_webhook_dropped_total 1"), std::string::npos);
}

TEST_F(WebhookWorkerTest, ABatchCutShortIsPutBackUntried) {
  QueueMessage();
  status = 0;
  error = "cancelled";  // what a stop makes of the requests under way
  EXPECT_TRUE(worker->RunOnce());
  EXPECT_EQ(Depth(), 1);
  status = 204;
  EXPECT_TRUE(worker->RunOnce()) << "a cut-short event waits for a backoff";
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(Header(sent[1], "Natter-Delivery-Attempt"), "1") << "a cut-short try counted as an attempt";
  EXPECT_NE(Rendered().find(R"(natter_webhook_failed_total{reason="no_answer"} 0)"), std::string::npos);
}

}  // namespace
}  // namespace natter::hooks
