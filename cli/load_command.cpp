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

namespace {

int rehearse(const load::scenario& plan) {
  using namespace flashsale::load;
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

} // namespace

command add_load(CLI::App& program) {
  auto* app = add_command(
      program, "load",
      "rehearse a flash sale against a running node\n\n"
      "Rehearses a flash sale against a running node: many buyers, few units, then checks that\n"
      "nothing was oversold and that the node's counts match what it acknowledged.");
  app->footer("exit status: 0 the verdict passed, 1 it failed (or the run could not start), 2 "
              "usage error");
  auto plan = std::make_shared<load::scenario>();
  auto given = load::add_scenario_options(*app, *plan);
  return {app, [app, plan, given] {
            auto env = [](const char* name) -> const char* { return std::getenv(name); };
            if (auto problem = load::finish_scenario(*plan, given, env))
              return usage_error(*app, *problem);
            return rehearse(*plan);
          }};
}

} // namespace flashsale::cli
