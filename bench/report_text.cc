#include <cmath>
#include <cstdio>

#include "bench/report.h"

namespace natter::bench {

namespace {
std::string Format(double v) {
  char buf[64];
  if (std::isnan(v)) return "-";
  if (std::fabs(v) >= 1000 || v == std::floor(v))
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else if (std::fabs(v) >= 10)
    std::snprintf(buf, sizeof buf, "%.1f", v);
  else
    std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}
}  // namespace

void PrintTable(std::ostream& out, const RunContext& ctx, const RunSummary& run,
                const std::vector<ScenarioReport>& reports) {
  const MachineInfo& m = ctx.machine;
  out << "\nnatter-bench " << ctx.cfg.profile << " profile, " << run.started_utc << ", commit " << run.commit << "\n";
  out << "machine: " << m.nproc << " cores, " << m.mem_total_kb / 1024 << " MiB, " << m.kernel << ", " << m.cpu_model
      << ", load average " << m.load_average_1m << " at start\n";
  out << "limits: RLIMIT_NOFILE " << m.nofile_soft << "/" << m.nofile_hard << ", up to " << ctx.cfg.max_conns_per_worker
      << " connections per worker process, " << ctx.cfg.threads << " event loop(s) per worker, source addresses:";
  if (ctx.sources.empty()) out << " kernel's choice";
  for (const auto& a : ctx.sources) out << " " << a.to_string();
  out << "\n";
  for (const auto& r : reports) {
    char head[200];
    std::snprintf(head, sizeof head, "\n== %s: %s (%.1f s, %d worker process%s)\n", r.name.c_str(), r.title.c_str(),
                  r.seconds, r.workers, r.workers == 1 ? "" : "es");
    out << head;
    for (const auto& f : r.figures) {
      char line[256];
      std::snprintf(line, sizeof line, "  %-52s %14s %s\n", f.label.c_str(), Format(f.value).c_str(), f.unit.c_str());
      out << line;
    }
    for (const auto& e : r.errors) out << "  ERROR: " << e << "\n";
    for (const auto& p : r.problems) out << "  PROBLEM: " << p << "\n";
    for (const auto& n : r.notes) out << "  note: " << n << "\n";
  }
  for (const auto& f : run.fatal) out << "\nFATAL: " << f << "\n";
  out << "\n"
      << (run.exit_code == 0 ? "OK" : "FAILED (exit " + std::to_string(run.exit_code) + ")") << " in "
      << Format(run.seconds) << " s (provisioning " << Format(run.provisioning_seconds) << " s)\n";
}

}  // namespace natter::bench
