// reports.create and admin.reports.*: users report a message or a user;
// moderators work through the queue and resolve each report with an action
// (docs/admin.md).
#include "api/answers.h"
#include "api/dispatcher.h"
#include "api/json_views.h"

namespace natter::api {

namespace json = boost::json;

namespace {

// The message a member reports: a live one they can see.
Result<Message> ReportedMessage(ConversationTxn& txn, UserId reporter, ConversationId id, Seq seq) {
  NATTER_TRY(auto membership, chat::RequireMember(txn, reporter, id));
  (void)membership;
  NATTER_TRY(auto message, txn.FindMessage(id, seq));
  if (!message || message->kind != EventKind::kMessage || message->deleted) return NotFound("message not found");
  return std::move(*message);
}

}  // namespace

void Dispatcher::FileReport(const Caller& c, ReportParams p, Reply reply) {
  if (!reports_.Take(c.user, d_.clock.SteadyMs() * 1000)) {
    return reply(RateLimited("you have filed too many reports this hour (" +
                             std::to_string(Limits()->max_reports_per_hour) + "); try again later"));
  }
  Report report;
  report.created_at = d_.clock.NowMs();
  report.reporter = c.user;
  report.target_user = p.user_id;
  report.reason = std::move(p.reason);
  report.text = std::move(p.text);
  if (p.conversation_id == 0) return StoreReport(ExecutorOf(c), std::move(report), std::move(reply));
  // A message: read where it lives (the reporter must see it), then filed
  // with its text as it is now, which stays for the moderators.
  report.conversation_id = p.conversation_id;
  report.seq = p.seq;
  d_.store.ReadResult<Message>(
      d_.store.PartitionOf(p.conversation_id), ExecutorOf(c),
      [user = c.user, p](ConversationTxn& txn) { return ReportedMessage(txn, user, p.conversation_id, p.seq); },
      [this, ex = c.executor, report = std::move(report), reply = std::move(reply)](Result<Message> m) mutable {
        if (!m.ok()) return reply(m.take_error());
        report.target_user = m->sender_id;
        report.message_text = m->text;
        StoreReport(*ex, std::move(report), std::move(reply));
      });
}

void Dispatcher::StoreReport(Executor& ex, Report report, Reply reply) {
  using Filed = std::pair<Report, bool>;  // the report, and whether it was open already
  d_.store.WriteAccountsResult<Filed>(
      ex,
      [filed = std::move(report),
       hook = Limits()->webhooks.Has(WebhookEvent::kReportFiled)](AccountsTxn& txn) -> Result<Filed> {
        Report report = filed;
        if (report.target_user == report.reporter) return BadRequest("you cannot report yourself");
        NATTER_TRY(auto target, txn.FindUser(report.target_user));
        if (!target) return NotFound("no such user");
        NATTER_TRY(auto open,
                   txn.FindOpenReport(report.reporter, report.target_user, report.conversation_id, report.seq));
        if (open) return Filed{std::move(*open), true};
        NATTER_TRY(report.id, txn.InsertReport(report));
        if (hook) {
          NATTER_RETURN_IF_ERROR(
              txn.QueueAccountWebhook(AccountWebhookJob(WebhookEvent::kReportFiled, report.id, report.created_at)));
        }
        return Filed{std::move(report), false};
      },
      [reply = std::move(reply)](Result<Filed> r) {
        if (!r.ok()) return reply(r.take_error());
        reply(
            json::value(json::object{{"report_id", r->first.id}, {"state", r->first.state}, {"duplicate", r->second}}));
      });
}

void Dispatcher::AdminListReports(const Caller& c, ReportsParams p, Reply reply) {
  std::string state = p.state == "all" ? "" : p.state;
  d_.store.ReadAccountsResult<std::vector<Report>>(
      ExecutorOf(c), [state, p](AccountsTxn& txn) { return txn.ListReports(state, p.before, p.limit); },
      [reply = std::move(reply), limit = p.limit](Result<std::vector<Report>> r) {
        if (!r.ok()) return reply(r.take_error());
        std::vector<Report> found = std::move(r).value();
        json::array reports;
        for (const auto& report : found) reports.push_back(ToJson(report));
        json::object answer{{"reports", std::move(reports)}};
        if (found.size() == static_cast<size_t>(limit)) answer["next"] = found.back().id;
        reply(json::value(std::move(answer)));
      });
}

void Dispatcher::AdminResolveReport(const Caller& c, ResolveReportParams p, Reply reply) {
  if (p.action == "suspend_user" && c.role < ServerRole::kAdmin) {
    return reply(Forbidden("suspending a user needs the server role admin"));
  }
  // The report is claimed first, so one moderator acts on it; then the
  // action; then the report is closed with what was done, or given back
  // (open again) when the action failed.
  d_.store.WriteAccountsResult<Report>(
      ExecutorOf(c),
      [id = p.report_id, by = c.user](AccountsTxn& txn) -> Result<Report> {
        NATTER_TRY(auto report, txn.FindReport(id));
        if (!report) return NotFound("no such report");
        NATTER_TRY(bool claimed, txn.ClaimReport(id, by));
        if (!claimed) return Conflict("the report was resolved already, or is being resolved");
        return std::move(*report);
      },
      [this, c, p, reply = std::move(reply)](Result<Report> claimed) mutable {
        if (!claimed.ok()) return reply(claimed.take_error());
        Report report = std::move(*claimed);
        auto give_back = [this, c, p, reply](Error why) {
          d_.store.WriteAccounts(
              ExecutorOf(c), [id = p.report_id, by = c.user](AccountsTxn& txn) { return txn.ReleaseReport(id, by); },
              [reply, why](const Status&) { reply(why); });
        };
        auto close = [this, c, p, reply](std::string resolution) {
          d_.store.WriteAccountsResult<std::optional<Report>>(
              ExecutorOf(c),
              [c, p, resolution, now = d_.clock.NowMs()](AccountsTxn& txn) -> Result<std::optional<Report>> {
                NATTER_TRY(bool closed, txn.ResolveReport(p.report_id, c.user, now, resolution, p.note));
                if (!closed) return Conflict("the report was resolved already");
                return txn.FindReport(p.report_id);
              },
              [reply](Result<std::optional<Report>> r) {
                if (!r.ok()) return reply(r.take_error());
                if (!*r) return reply(NotFound("no such report"));
                reply(json::value(ToJson(**r)));
              });
        };
        auto then = [close, give_back](std::string resolution) {
          return [close, give_back, resolution](Result<json::value> done) {
            // A message deleted meanwhile (by its author, another moderator)
            // is what the action wanted.
            if (!done.ok() && done.error().code != ErrorCode::kNotFound) return give_back(done.take_error());
            close(resolution);
          };
        };
        if (p.action == "dismiss") return close("dismissed");
        if (p.action == "delete_message") {
          if (report.conversation_id == 0) return give_back(BadRequest("this report is about a user, not a message"));
          return Delete(c, MessageParams{report.conversation_id, report.seq}, then("message_deleted"));
        }
        AdminSuspend(c, SuspendParams{report.target_user, true, p.note}, then("user_suspended"));
      });
}

}  // namespace natter::api
