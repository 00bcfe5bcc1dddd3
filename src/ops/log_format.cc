#include "ops/log_format.h"

#include <spdlog/formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <ctime>

#include "common/request_id.h"
#include "ops/log_event.h"
#include "ops/log_sink.h"

namespace natter::ops {
namespace {

// Lines waiting for stdout (ops/log_sink.h): about 4,000 typical lines, a
// few seconds of a busy node's access log.
constexpr size_t kMaxQueuedLogBytes = 1 << 20;
LogFormat queued_format = LogFormat::kJson;  // SetupLogging's, for StopLogging

// "2026-12-06T06:25:11.123Z"
void AppendTime(std::string& out, spdlog::log_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  out.append(buf, n);
  out += fmt::format(".{:03d}Z", static_cast<int>(ms % 1000));
}

class LineFormatter final : public spdlog::formatter {
 public:
  explicit LineFormatter(LogFormat format) : format_(format) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string_view payload(msg.payload.data(), msg.payload.size());
    // An event: its name, then its fields (ops/log_event.h); any other line
    // is all message.
    std::string_view message = payload, fields;
    if (!payload.empty() && payload.front() == kFieldMark) {
      payload.remove_prefix(1);
      size_t end = payload.find(kFieldMark);
      message = payload.substr(0, end);
      fields = end == std::string_view::npos ? std::string_view() : payload.substr(end);
    }
    std::string line;
    line.reserve(96 + payload.size());
    auto level = spdlog::level::to_string_view(msg.level);
    RequestId request = CurrentRequestId();
    if (format_ == LogFormat::kJson) {
      line += "{\"ts\":\"";
      AppendTime(line, msg.time);
      line += "\",\"level\":\"";
      line.append(level.data(), level.size());
      line += "\",\"thread\":";
      line += std::to_string(msg.thread_id);
      if (!request.empty()) line += ",\"request_id\":\"" + request.Hex() + "\"";
      line += ",\"msg\":\"";
      AppendJsonEscaped(line, message);
      line += '"';
      ForEachField(fields, [&](std::string_view key, std::string_view value) {
        line += ",\"";
        line += key;
        line += "\":";
        line += value;
      });
      line += "}\n";
    } else {
      AppendTime(line, msg.time);
      line += ' ';
      line.append(level.data(), level.size());
      line += ' ';
      if (!request.empty()) line += "[" + request.Hex() + "] ";
      line += message;
      ForEachField(fields, [&](std::string_view key, std::string_view value) {
        line += ' ';
        line += key;
        line += '=';
        line += value;
      });
      line += '\n';
    }
    dest.append(line.data(), line.data() + line.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<LineFormatter>(format_); }

 private:
  template <class F>
  static void ForEachField(std::string_view fields, F&& each) {
    while (!fields.empty() && fields.front() == kFieldMark) {
      fields.remove_prefix(1);
      size_t end = fields.find(kFieldMark);
      std::string_view field = fields.substr(0, end);
      fields = end == std::string_view::npos ? std::string_view() : fields.substr(end);
      size_t mark = field.find(kValueMark);
      if (mark == std::string_view::npos) continue;
      each(field.substr(0, mark), field.substr(mark + 1));
    }
  }

  LogFormat format_;
};

}  // namespace

std::optional<LogFormat> ParseLogFormat(std::string_view name, bool stdout_is_terminal) {
  if (name == "json") return LogFormat::kJson;
  if (name == "text") return LogFormat::kText;
  if (name == "auto") return stdout_is_terminal ? LogFormat::kText : LogFormat::kJson;
  return std::nullopt;
}

std::unique_ptr<spdlog::formatter> MakeLogFormatter(LogFormat format) {
  return std::make_unique<LineFormatter>(format);
}

void SetupLogging(LogFormat format, spdlog::level::level_enum level) {
  auto sink = std::make_shared<QueuedLogSink>(STDOUT_FILENO, kMaxQueuedLogBytes);
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("", std::move(sink)));
  spdlog::set_formatter(MakeLogFormatter(format));
  spdlog::set_level(level);
  queued_format = format;
}

void StopLogging() {
  auto queued = spdlog::default_logger();
  auto direct = std::make_shared<spdlog::logger>("", std::make_shared<spdlog::sinks::stdout_sink_mt>());
  direct->set_formatter(MakeLogFormatter(queued_format));
  direct->set_level(queued->level());
  spdlog::set_default_logger(std::move(direct));
  queued->flush();
  // The sink's writer stops as the last reference goes, here.
}

}  // namespace natter::ops
