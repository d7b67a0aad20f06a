// The HTML report of a load run: one self-contained page (no external scripts, styles or
// fonts, so it opens offline and from CI artifacts) with the totals, the verdict, a
// latency-over-time chart (p50/p99 per 100 ms slice) and the latency histogram, drawn by
// Chart.js (Debian's libjs-chart.js, embedded whole) from the run's JSON embedded beside it.
// What the tests look for: canvas#latency-over-time and #latency-histogram with data-points
// (points drawn), body[data-charts="drawn"] once both charts exist.
#pragma once

#include <string>

#include "cli/load/report.hpp"

namespace flashsale::load {

/// The whole page, with `chart` (the Chart.js library's text) embedded.
std::string html_report(const run_result& r, const verdict& v, const std::string& chart);

/// Writes the page to `path`, with Chart.js read from the Debian package; returns an error
/// message (naming the package when it is missing), empty on success.
std::string write_html_report(const std::string& path, const run_result& r, const verdict& v);

} // namespace flashsale::load
