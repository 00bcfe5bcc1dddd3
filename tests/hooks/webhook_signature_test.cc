// The signature docs/webhooks.md tells receivers to check: HMAC-SHA256 under
// the secret over "<t>.<body>", hex, as `t=<t>,v1=<hex>`. The expected value
// was computed apart (Python's hmac module), not by this code.
#include "hooks/webhook_signature.h"

#include <gtest/gtest.h>

namespace natter::hooks {
namespace {

TEST(WebhookSignature, IsTheHmacOfTheTimeAndBody) {
  EXPECT_EQ(SignWebhook("whsec-0123456789abcdef", 1796000000, R"({"id":"1.2"})"),
            "t=1796000000,v1=853e56547f495b4095c7d0f826fe01b40b6d10078bd515adf44091cf24835661");
}

TEST(WebhookSignature, ChangesWithTheBodyTheTimeAndTheSecret) {
  std::string base = SignWebhook("whsec-0123456789abcdef", 1796000000, "body");
  EXPECT_NE(base, SignWebhook("whsec-0123456789abcdef", 1796000000, "body "));
  EXPECT_NE(base.substr(base.find(",v1=")),
            SignWebhook("whsec-0123456789abcdef", 1796000001, "body").substr(base.find(",v1=")));
  EXPECT_NE(base, SignWebhook("whsec-0123456789abcdeF", 1796000000, "body"));
}

}  // namespace
}  // namespace natter::hooks
