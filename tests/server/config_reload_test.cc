#include "server/config_reload.h"

#include <gtest/gtest.h>

namespace natter::server {
namespace {

TEST(ConfigReload, OnlySettingsAReloadCannotApplyAreReported) {
  Config running, fresh;
  running.settings = {{"port", "18480"}, {"max-text-bytes", "16384"}, {"workers", "2"}, {"log-level", "info"}};
  fresh.settings = running.settings;
  EXPECT_TRUE(NeedRestart(running, fresh).empty());

  fresh.settings["max-text-bytes"] = "100";
  fresh.settings["log-level"] = "debug";
  EXPECT_TRUE(NeedRestart(running, fresh).empty());

  fresh.settings["port"] = "18481";
  fresh.settings["workers"] = "4";
  fresh.settings["postgres"] = "host=db";  // not set before: a change too
  EXPECT_EQ(NeedRestart(running, fresh), (std::vector<std::string>{"port", "postgres", "workers"}));
}

TEST(ConfigReload, TheLimitsTheStoredDataDependsOnStayAsTheyWere) {
  chat::ChatLimits running, fresh;
  fresh.max_text_bytes = 100;
  fresh.max_group_members = 7;
  fresh.large_conversation_members = 5;
  fresh.update_log_retention = 10;
  fresh.sync_page = 3;
  fresh.webhooks = WebhookSelection{};
  running.webhooks = WebhookSelection::All();
  auto applied = ReloadedLimits(running, fresh);
  EXPECT_EQ(applied.max_text_bytes, 100u);
  EXPECT_EQ(applied.max_group_members, 7);
  EXPECT_EQ(applied.large_conversation_members, running.large_conversation_members);
  EXPECT_EQ(applied.update_log_retention, running.update_log_retention);
  EXPECT_EQ(applied.sync_page, running.sync_page);
  EXPECT_TRUE(applied.webhooks.Has(WebhookEvent::kReportFiled));
}

TEST(ConfigReload, APresignedUrlCannotOutliveAWeek) {
  media::MediaLimits limits;
  limits.url_ttl_s = 8 * 24 * 3600;
  EXPECT_FALSE(CheckMediaLimits("s3", limits).empty());
  EXPECT_TRUE(CheckMediaLimits("local", limits).empty());
  limits.url_ttl_s = 7 * 24 * 3600;
  EXPECT_TRUE(CheckMediaLimits("s3", limits).empty());
}

}  // namespace
}  // namespace natter::server
