// flashsale: one executable, one subcommand per thing our users do (see `flashsale --help`).
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/version.hpp" // generated at build time (packaging/git_version.cmake)

namespace {

const char* const main_usage =
    "usage: flashsale <command> [options]\n"
    "\n"
    "commands:\n"
    "  serve    run the actor node (HTTP API, event store, NATS outbox)\n"
    "  replay   rebuild state from the event store offline, print it, verify invariants\n"
    "  load     rehearse a flash sale against a running node\n"
    "  pay-sim  the payment simulator as its own process (JetStream consumer -> webhook)\n"
    "  cluster  `cluster status`: partitions, owners and lease ages of a cluster\n"
    "\n"
    "`flashsale <command> --help` describes each command's options;\n"
    "`flashsale --version` prints the version and the git commit it was built from.\n";

} // namespace

int main(int argc, char** argv) {
  using namespace flashsale::cli;
  std::vector<std::string> all(argv + 1, argv + argc);
  if (all.empty())
    return usage_error("missing command", main_usage);
  const std::string command = all.front();
  args rest(all.begin() + 1, all.end());
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << main_usage;
    return 0;
  }
  if (command == "--version") {
    std::cout << "flashsale " FLASHSALE_VERSION " (git " FLASHSALE_GIT_COMMIT ")\n";
    return 0;
  }
  if (command == "serve")
    return serve(rest);
  if (command == "replay")
    return replay(rest);
  if (command == "load")
    return load(rest);
  if (command == "pay-sim")
    return pay_sim(rest);
  if (command == "cluster")
    return cluster(rest);
  return usage_error("unknown command '" + command + "'", main_usage);
}
