// flashsale: one executable, one subcommand per thing our users do (see `flashsale --help`).
#include <iostream>
#include <vector>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/version.hpp" // generated at build time (packaging/git_version.cmake)

int main(int argc, char** argv) {
  using namespace flashsale::cli;
  CLI::App app{"A flash-sale engine: an actor node behind its HTTP edge, an event store, NATS\n"
               "JetStream. `flashsale <command> --help` describes each command's options."};
  set_up_program(app);
  app.set_version_flag("--version",
                       "flashsale " FLASHSALE_VERSION " (git " FLASHSALE_GIT_COMMIT ")",
                       "print the version and the git commit it was built from");
  std::vector<command> commands{add_serve(app),   add_replay(app),  add_load(app),
                                add_pay_sim(app), add_cluster(app), add_demo(app)};
  auto* help = app.add_subcommand("help", "this text")->group(""); // `flashsale help`, unlisted
  commands.push_back({help, [&app] {
                        std::cout << help_of(app);
                        return 0;
                      }});
  if (auto done = parse_command_line(app, argc, argv))
    return *done;
  for (auto& c : commands)
    if (c.app->parsed())
      return c.run();
  return exit_usage; // parse_command_line lets no command line through without a command
}
