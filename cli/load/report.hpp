// What a load run means: the correctness verdict (each check named, with the numbers behind
// it) and the two renderings of the run, the text report for people and one JSON object for
// scripts (bench/flash_sale_compare.sh). Pure functions of a run_result.
// The verdict passes only when nothing was oversold, the node's counts match what it
// acknowledged, and no request failed with a 5xx or a connection error.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/load/load_run.hpp"

namespace flashsale::load {

struct check {
  std::string name; ///< e.g. "no_oversell"
  bool pass = false;
  std::string detail; ///< the numbers compared
};

struct verdict {
  bool pass = false;
  std::vector<check> checks;
};

verdict judge(const run_result& r);

/// The human-readable report (totals, throughput, percentiles, verdict with failed checks).
std::string text_report(const run_result& r, const verdict& v);

/// Everything as one JSON object (latencies in milliseconds).
nlohmann::json json_report(const run_result& r, const verdict& v);

} // namespace flashsale::load
