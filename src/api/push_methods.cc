// push.* and conversations.mute: where a device's notifications go, what
// they show, and which conversations stay quiet.
#include "api/dispatcher.h"
#include "chat/conversations.h"
#include "push/device_liveness.h"

namespace natter::api {

namespace json = boost::json;

namespace {

json::value DeviceJson(const std::optional<PushDevice>& d) {
  if (!d) return nullptr;
  return json::object{{"platform", d->platform},       {"token", d->token},   {"topic", d->topic},
                      {"environment", d->environment}, {"locale", d->locale}, {"updated_at", d->updated_at}};
}

// Forever reads as -1 (JSON numbers past 2^53 lose precision in many clients).
int64_t MutedUntilJson(int64_t until) { return until == kMutedForever ? -1 : until; }

}  // namespace

void Dispatcher::RegisterPushDevice(const Caller& c, PushDeviceParams p, Reply reply) {
  PushDevice device;
  device.session_id = c.session;
  device.user_id = c.user;
  device.platform = std::move(p.platform);
  device.token = std::move(p.token);
  device.topic = std::move(p.topic);
  device.environment = std::move(p.environment);
  device.locale = std::move(p.locale);
  device.updated_at = d_.clock.NowMs();
  d_.store.WriteAccounts(
      ExecutorOf(c), [device](AccountsTxn& txn) { return txn.PutPushDevice(device); },
      [reply = std::move(reply), device](Status st) {
        if (!st.ok()) return reply(st.take_error());
        reply(DeviceJson(device));
      });
}

void Dispatcher::UnregisterPushDevice(const Caller& c, NoParams, Reply reply) {
  d_.store.WriteAccounts(
      ExecutorOf(c), [session = c.session](AccountsTxn& txn) { return txn.DeletePushDevice(session); },
      [reply = std::move(reply)](Status st) {
        if (!st.ok()) return reply(st.take_error());
        reply(json::value(json::object{{"device", nullptr}}));
      });
}

void Dispatcher::GetPushSettings(const Caller& c, NoParams, Reply reply) {
  using Settings = std::pair<bool, std::optional<PushDevice>>;
  d_.store.ReadAccountsResult<Settings>(
      ExecutorOf(c),
      [user = c.user, session = c.session](AccountsTxn& txn) -> Result<Settings> {
        NATTER_TRY(bool preview, txn.GetPushPreview(user));
        NATTER_TRY(auto device, txn.FindPushDevice(session));
        return Settings{preview, std::move(device)};
      },
      [reply = std::move(reply)](Result<Settings> r) {
        if (!r.ok()) return reply(r.take_error());
        reply(json::value(json::object{{"show_preview", r->first}, {"device", DeviceJson(r->second)}}));
      });
}

void Dispatcher::SetPushSettings(const Caller& c, PushSettingsParams p, Reply reply) {
  d_.store.WriteAccounts(
      ExecutorOf(c),
      [user = c.user, show = p.show_preview](AccountsTxn& txn) { return txn.SetPushPreview(user, show); },
      [reply = std::move(reply), show = p.show_preview](Status st) {
        if (!st.ok()) return reply(st.take_error());
        reply(json::value(json::object{{"show_preview", show}}));
      });
}

void Dispatcher::Mute(const Caller& c, MuteParams p, Reply reply) {
  d_.store.WriteResult<int64_t>(
      d_.store.For(p.conversation_id), ExecutorOf(c),
      [user = c.user, p](ConversationTxn& txn) -> Result<int64_t> {
        NATTER_TRY(auto membership, chat::RequireMember(txn, user, p.conversation_id));
        (void)membership;
        NATTER_RETURN_IF_ERROR(txn.SetMute(p.conversation_id, user, p.until));
        return p.until;
      },
      [reply = std::move(reply), id = p.conversation_id](Result<int64_t> r, const CommitTurn&) {
        if (!r.ok()) return reply(r.take_error());
        reply(json::value(json::object{{"conversation_id", id}, {"muted_until", MutedUntilJson(*r)}}));
      });
}

void Dispatcher::Unmute(const Caller& c, ConversationParams p, Reply reply) {
  Mute(c, MuteParams{p.conversation_id, 0}, std::move(reply));
}

void Dispatcher::SetAppState(const Caller& c, AppStateParams p, Reply reply) {
  if (c.connection == 0) return reply(BadRequest("app.state is sent on the WebSocket whose app changed state"));
  if (d_.liveness) d_.liveness->SetForeground(c.session, c.connection, p.foreground);
  reply(json::value(json::object{{"foreground", p.foreground}}));
}

}  // namespace natter::api
