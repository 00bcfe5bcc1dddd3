// The three forms of a run's results: a table for the terminal, a JSON file
// with every figure, sample and the configuration, and an HTML page with
// inline SVG charts (latency percentile curves, throughput per second).
//
// Thread-safety: pure functions of their arguments; call from one thread.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "bench/scenario.h"

namespace natter::bench {

struct RunSummary {
  std::string started_utc;
  std::string commit;
  double seconds = 0;
  double provisioning_seconds = 0;
  int exit_code = 0;
  std::vector<std::string> fatal;  // run-level problems (server unreachable, ...)
};

boost::json::value ReportJson(const RunContext& ctx, const RunSummary& run, const std::vector<ScenarioReport>& reports);
void PrintTable(std::ostream& out, const RunContext& ctx, const RunSummary& run,
                const std::vector<ScenarioReport>& reports);
std::string ReportHtml(const RunContext& ctx, const RunSummary& run, const std::vector<ScenarioReport>& reports);

}  // namespace natter::bench
