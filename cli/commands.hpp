// The subcommands of the `flashsale` executable. Each declares its options on a subcommand of
// the program's CLI::App (cli/options.hpp) and returns what runs it once the command line has
// parsed, with the process exit code: 0 success, 1 failure, 2 usage error.
#pragma once

#include "cli/options.hpp"

namespace flashsale::cli {

command add_serve(CLI::App& program);
command add_replay(CLI::App& program);
command add_load(CLI::App& program);
command add_pay_sim(CLI::App& program);
command add_cluster(CLI::App& program);
command add_demo(CLI::App& program);

} // namespace flashsale::cli
