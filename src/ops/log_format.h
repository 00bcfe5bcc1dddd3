// How natterd writes its log lines: one JSON object a line (for a collector:
// ELK, Loki, journald) or plain text for a person at a terminal. Every line
// has the time (UTC), the level, the thread and, while a thread works for a
// request, that request's id; structured events (ops/log_event.h) add their
// fields. docs/operations.md lists them.
//
// Thread-safety: set up once at start-up; SetLogLevel may be called later
// (SIGHUP) from any thread.
#pragma once

#include <spdlog/common.h>

#include <memory>
#include <optional>
#include <string_view>

namespace spdlog {
class formatter;
}

namespace natter::ops {

enum class LogFormat { kJson, kText };

// "json", "text", or "auto": JSON unless stdout is a terminal. Nullopt for
// anything else.
std::optional<LogFormat> ParseLogFormat(std::string_view name, bool stdout_is_terminal);

// A formatter that writes lines in `format`.
std::unique_ptr<spdlog::formatter> MakeLogFormatter(LogFormat format);

// Every logger's lines in `format`, from `level` up, written to stdout by a
// thread of their own (ops/log_sink.h).
void SetupLogging(LogFormat format, spdlog::level::level_enum level);

// Writes what is queued (waiting a few seconds at most) and stops the writer;
// later lines are written to stdout by whoever logs them. Before exit.
void StopLogging();

}  // namespace natter::ops
