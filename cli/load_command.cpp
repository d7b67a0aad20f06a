// `flashsale load`: the flash-crowd load generator. Parses the flags, runs the rehearsal
// (cli/load/), prints the text or JSON report and writes the HTML one. Exit codes: 0 the
// verdict passed, 1 it failed or the run could not start, 2 usage error.
#include <cstdlib>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/load/html_report.hpp"
#include "cli/load/load_run.hpp"
#include "cli/load/report.hpp"
#include "cli/load/scenario.hpp"
#include "cli/options.hpp"

namespace flashsale::cli {

const char* const load_usage =
    "usage: flashsale load --url URL [options]\n"
    "\n"
    "Rehearses a flash sale against a running node: many buyers, few units, then checks\n"
    "that nothing was oversold and that the node's counts match what it acknowledged.\n"
    "\n";

int load(const args& a) {
  using namespace flashsale::load;
  auto parsed =
      parse_scenario(a, [](const char* name) -> const char* { return std::getenv(name); });
  if (std::holds_alternative<help_requested>(parsed)) {
    std::cout << load_usage << scenario_options_help;
    return 0;
  }
  if (auto* bad = std::get_if<usage_problem>(&parsed)) {
    std::string usage = std::string(load_usage) + scenario_options_help;
    return usage_error(bad->problem, usage.c_str());
  }
  const auto& plan = std::get<scenario>(parsed);
  try {
    auto result = run_load(plan);
    auto v = judge(result);
    if (plan.json)
      std::cout << json_report(result, v).dump(-1, ' ', false,
                                               nlohmann::json::error_handler_t::replace)
                << std::endl;
    else
      std::cout << text_report(result, v) << std::flush;
    if (!plan.html_file.empty()) {
      auto problem = write_html_report(plan.html_file, result, v);
      if (!problem.empty()) {
        std::cerr << "flashsale load: " << problem << "\n";
        return 1;
      }
    }
    return v.pass ? 0 : 1;
  } catch (const std::exception& e) { // the edge: nothing escapes main
    std::cerr << "flashsale load: " << e.what() << "\n";
    return 1;
  }
}

} // namespace flashsale::cli
