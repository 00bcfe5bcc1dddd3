#include "ops/crash_report_review.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "ops/crash_report.h"

namespace natter::ops {
namespace {

namespace fs = std::filesystem;

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The lines of a report's head that say what happened, joined ("signal:
// SIGSEGV (11), time: ..."); what the log line shows.
std::string Summary(const fs::path& report) {
  std::ifstream in(report);
  std::string line, summary;
  for (int i = 0; i < 12 && std::getline(in, line); ++i) {
    if (line.rfind("signal: ", 0) == 0 || line.rfind("time: ", 0) == 0) {
      summary += (summary.empty() ? "" : ", ") + line;
    }
  }
  return summary.empty() ? "(no signal line: the report was cut short)" : summary;
}

}  // namespace

CrashReportTally ReviewCrashReports(const std::string& dir, int keep) {
  CrashReportTally tally;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return tally;
  std::vector<std::string> fresh, seen;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(kCrashReportPrefix, 0) != 0 || !entry.is_regular_file(ec)) continue;
    if (EndsWith(name, kNewCrashReportSuffix)) fresh.push_back(name);
    if (EndsWith(name, kCrashReportSuffix)) seen.push_back(name);
  }
  std::sort(fresh.begin(), fresh.end());
  for (const auto& name : fresh) {
    ++tally.found;
    std::string stem = name.substr(0, name.size() - std::strlen(kNewCrashReportSuffix));
    fs::path from = fs::path(dir) / name;
    fs::path to = fs::path(dir) / (stem + kCrashReportSuffix);
    fs::rename(from, to, ec);
    if (ec) {
      spdlog::error("natterd crashed before this start: {}; report in {} (not marked seen: {})", Summary(from),
                    from.string(), ec.message());
      continue;
    }
    spdlog::error("natterd crashed before this start: {}; report in {}", Summary(to), to.string());
    seen.push_back(to.filename().string());
  }
  std::sort(seen.begin(), seen.end());
  size_t excess = seen.size() > static_cast<size_t>(std::max(keep, 0)) ? seen.size() - std::max(keep, 0) : 0;
  size_t deleted = 0;
  for (size_t i = 0; i < excess; ++i) {
    if (fs::remove(fs::path(dir) / seen[i], ec)) {
      ++deleted;
    } else {
      spdlog::warn("crash reports: cannot delete {}: {}", (fs::path(dir) / seen[i]).string(), ec.message());
    }
  }
  tally.kept = static_cast<int64_t>(seen.size() - deleted);
  if (deleted > 0) spdlog::info("crash reports: deleted the {} oldest, keeping {}", deleted, tally.kept);
  return tally;
}

}  // namespace natter::ops
