// What a start does with the crash reports earlier runs left
// (ops/crash_report.h): each new one is logged once, at error level, with its
// path and its signal line; then only the newest `keep` are kept.
// Thread-safety: a plain function over the file system; call it at start-up.
#pragma once

#include <cstdint>
#include <string>

namespace natter::ops {

struct CrashReportTally {
  uint64_t found = 0;  // new reports: written since the last start
  int64_t kept = 0;    // reports in the directory afterwards
};

// Logs each new report in `dir` (<prefix>...<new suffix>), renames it to
// <prefix>...<suffix> (seen), then deletes all but the newest `keep` (by name,
// which starts with the crashed process's start time). A missing `dir` holds
// none; what cannot be read or deleted is logged and left.
CrashReportTally ReviewCrashReports(const std::string& dir, int keep);

}  // namespace natter::ops
