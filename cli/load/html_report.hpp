// The HTML report of a load run: one self-contained page (no external scripts, styles or
// fonts, so it opens offline and from CI artifacts) with the totals, the verdict, a
// latency-over-time chart (p50/p99 per 100 ms slice) and the latency histogram. The charts are
// SVG drawn by an inline script from the run's JSON embedded in the page.
// Element ids the tests look for: "latency-over-time" and "latency-histogram" (the SVGs).
#pragma once

#include <string>

#include "cli/load/report.hpp"

namespace flashsale::load {

/// The whole page.
std::string html_report(const run_result& r, const verdict& v);

/// Writes the page to `path`; returns an error message, empty on success.
std::string write_html_report(const std::string& path, const run_result& r, const verdict& v);

} // namespace flashsale::load
