// `flashsale load`: the flash-crowd load generator.
#include <iostream>

#include "cli/commands.hpp"
#include "cli/options.hpp"

namespace flashsale::cli {

const char* const load_usage =
  "usage: flashsale load --url URL [options]\n"
  "\n"
  "Rehearses a flash sale against a running node: many buyers, few units, then checks\n"
  "that nothing was oversold.\n";

int load(const args& a) {
  for (auto& arg : a) {
    if (arg == "--help" || arg == "-h") {
      std::cout << load_usage;
      return 0;
    }
    return usage_error("unknown option '" + arg + "'", load_usage);
  }
  std::cerr << "flashsale load: not available in this build yet (see issue 9)\n";
  return 1;
}

} // namespace flashsale::cli
