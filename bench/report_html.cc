#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "bench/report.h"

namespace natter::bench {

namespace {

const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Num(double v, const char* fmt = "%.3g") {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

constexpr int kW = 640, kH = 300, kL = 60, kR = 20, kT = 20, kB = 40;

// Latency against percentile on a "nines" axis (50%, 90%, 99%, 99.9%, 99.99%),
// the usual way to show a tail: each step to the right is ten times rarer.
std::string PercentileChart(const std::vector<std::pair<std::string, const Histogram*>>& hists) {
  double ymax = 0;
  for (const auto& [name, h] : hists) ymax = std::max(ymax, h->Percentile(99.99) / 1e6);
  if (ymax <= 0) return "";
  ymax *= 1.1;
  const double xmax = 4;  // 99.99%
  auto X = [&](double nines) { return kL + (kW - kL - kR) * nines / xmax; };
  auto Y = [&](double ms) { return kT + (kH - kT - kB) * (1 - ms / ymax); };
  std::ostringstream svg;
  svg << "<svg width='" << kW << "' height='" << kH << "' xmlns='http://www.w3.org/2000/svg' font-size='11'>";
  svg << "<rect x='" << kL << "' y='" << kT << "' width='" << kW - kL - kR << "' height='" << kH - kT - kB
      << "' fill='none' stroke='#999'/>";
  const std::pair<double, const char*> ticks[] = {{0, "0%"},  {std::log10(2), "50%"}, {1, "90%"},
                                                  {2, "99%"}, {3, "99.9%"},           {4, "99.99%"}};
  for (const auto& [x, label] : ticks) {
    svg << "<line x1='" << X(x) << "' x2='" << X(x) << "' y1='" << kT << "' y2='" << kH - kB << "' stroke='#eee'/>";
    svg << "<text x='" << X(x) << "' y='" << kH - kB + 14 << "' text-anchor='middle'>" << label << "</text>";
  }
  for (int i = 0; i <= 4; ++i) {
    const double v = ymax * i / 4;
    svg << "<text x='" << kL - 4 << "' y='" << Y(v) + 4 << "' text-anchor='end'>" << Num(v) << "</text>";
  }
  svg << "<text x='" << kL << "' y='12'>latency (ms) by percentile</text>";
  int color = 0;
  for (const auto& [name, h] : hists) {
    svg << "<polyline fill='none' stroke-width='2' stroke='" << kColors[color % 8] << "' points='";
    for (int i = 0; i <= 200; ++i) {
      const double nines = xmax * i / 200;
      const double p = 100 * (1 - std::pow(10, -nines));
      svg << X(nines) << "," << Y(h->Percentile(p) / 1e6) << " ";
    }
    svg << "'/><text x='" << kL + 8 << "' y='" << kT + 14 + 13 * color << "' fill='" << kColors[color % 8] << "'>"
        << Escape(name) << " (" << h->count() << " samples)</text>";
    ++color;
  }
  svg << "</svg>";
  return svg.str();
}

std::string SeriesChart(const std::vector<std::pair<std::string, const std::vector<int64_t>*>>& series) {
  size_t n = 0;
  double ymax = 0;
  for (const auto& [name, s] : series) {
    n = std::max(n, s->size());
    for (int64_t v : *s) ymax = std::max(ymax, static_cast<double>(v));
  }
  if (n == 0 || ymax <= 0) return "";
  ymax *= 1.1;
  auto X = [&](double sec) { return kL + (kW - kL - kR) * sec / std::max<double>(1, n); };
  auto Y = [&](double v) { return kT + (kH - kT - kB) * (1 - v / ymax); };
  std::ostringstream svg;
  svg << "<svg width='" << kW << "' height='" << kH << "' xmlns='http://www.w3.org/2000/svg' font-size='11'>";
  svg << "<rect x='" << kL << "' y='" << kT << "' width='" << kW - kL - kR << "' height='" << kH - kT - kB
      << "' fill='none' stroke='#999'/>";
  for (int i = 0; i <= 4; ++i) {
    const double v = ymax * i / 4;
    svg << "<text x='" << kL - 4 << "' y='" << Y(v) + 4 << "' text-anchor='end'>" << Num(v, "%.0f") << "</text>";
  }
  const size_t step = std::max<size_t>(1, n / 10);
  for (size_t sec = 0; sec <= n; sec += step) {
    svg << "<text x='" << X(sec) << "' y='" << kH - kB + 14 << "' text-anchor='middle'>" << sec << "s</text>";
  }
  svg << "<text x='" << kL << "' y='12'>events per second since the scenario started</text>";
  int color = 0;
  for (const auto& [name, s] : series) {
    svg << "<polyline fill='none' stroke-width='2' stroke='" << kColors[color % 8] << "' points='";
    for (size_t i = 0; i < s->size(); ++i) svg << X(i + 0.5) << "," << Y(static_cast<double>((*s)[i])) << " ";
    svg << "'/><text x='" << kL + 8 << "' y='" << kT + 14 + 13 * color << "' fill='" << kColors[color % 8] << "'>"
        << Escape(name) << "</text>";
    ++color;
  }
  svg << "</svg>";
  return svg.str();
}

}  // namespace

std::string ReportHtml(const RunContext& ctx, const RunSummary& run, const std::vector<ScenarioReport>& reports) {
  const MachineInfo& m = ctx.machine;
  std::ostringstream h;
  h << "<!doctype html><html><head><meta charset='utf-8'><title>natter-bench " << Escape(run.started_utc)
    << "</title><style>body{font-family:sans-serif;max-width:1000px;margin:2em auto}table{border-collapse:collapse}"
       "td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}td.n{text-align:right}.err{color:#b00}"
       ".note{color:#555}</style></head><body>";
  h << "<h1>natter-bench: " << Escape(ctx.cfg.profile) << " profile</h1>";
  h << "<p>" << Escape(run.started_utc) << ", commit <code>" << Escape(run.commit) << "</code>, "
    << Num(run.seconds, "%.1f") << " s; exit " << run.exit_code << ".</p>";
  h << "<p>Machine: " << m.nproc << " cores, " << m.mem_total_kb / 1024 << " MiB, " << Escape(m.kernel) << ", "
    << Escape(m.cpu_model) << ", load average " << m.load_average_1m << " at start. Limits: RLIMIT_NOFILE "
    << m.nofile_soft << ", up to " << ctx.cfg.max_conns_per_worker << " connections per worker process, "
    << ctx.cfg.threads << " event loop(s) per worker, " << (ctx.sources.empty() ? 1 : ctx.sources.size())
    << " source address(es).</p>";
  for (const auto& f : run.fatal) h << "<p class='err'>FATAL: " << Escape(f) << "</p>";
  for (const auto& r : reports) {
    h << "<h2>" << Escape(r.name) << ": " << Escape(r.title) << "</h2><p>" << Num(r.seconds, "%.1f") << " s, "
      << r.workers << " worker process(es).</p><table><tr><th>figure</th><th>value</th><th>unit</th></tr>";
    for (const auto& f : r.figures) {
      h << "<tr><td>" << Escape(f.label) << "</td><td class='n'>" << Num(f.value, "%.4g") << "</td><td>"
        << Escape(f.unit) << "</td></tr>";
    }
    h << "</table>";
    for (const auto& e : r.errors) h << "<p class='err'>ERROR: " << Escape(e) << "</p>";
    for (const auto& p : r.problems) h << "<p class='err'>PROBLEM: " << Escape(p) << "</p>";
    for (const auto& n : r.notes) h << "<p class='note'>" << Escape(n) << "</p>";
    std::vector<std::pair<std::string, const Histogram*>> hists;
    hists.reserve(r.stats.histograms.size());
    for (const auto& [name, hist] : r.stats.histograms)
      if (hist.count() > 0) hists.emplace_back(name, &hist);
    if (!hists.empty()) h << "<div>" << PercentileChart(hists) << "</div>";
    std::vector<std::pair<std::string, const std::vector<int64_t>*>> series;
    series.reserve(r.stats.series.size());
    for (const auto& [name, s] : r.stats.series) series.emplace_back(name, &s);
    if (!series.empty()) h << "<div>" << SeriesChart(series) << "</div>";
  }
  h << "</body></html>\n";
  return h.str();
}

}  // namespace natter::bench
