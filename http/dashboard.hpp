// The live sale dashboard: GET /dashboard (one HTML page, no auth: it shows only what the
// public API shows) and GET /dashboard/chart.js (Chart.js from Debian's libjs-chart.js, read
// once from the package's file, so the page works with no network). The page polls, every
// second, GET /products (units by state), GET /health (store, NATS, outbox lag) and GET
// /metrics (orders by outcome, the POST /orders latency histogram), and draws orders per
// second by outcome, p50/p99 of POST /orders from the histogram's deltas, and units per product.
// Element ids and data attributes the browser test reads are documented in dashboard.cpp.
#pragma once

#include <string>

namespace flashsale {

/// Where Debian's libjs-chart.js puts the browser (UMD) build of Chart.js.
inline constexpr const char* chart_js_path = "/usr/share/javascript/chart.js/chart.min.js";

/// The page (GET /dashboard).
const std::string& dashboard_html();

/// Chart.js as the package installed it (GET /dashboard/chart.js), read once; empty when the
/// package is missing.
const std::string& chart_js();

} // namespace flashsale
