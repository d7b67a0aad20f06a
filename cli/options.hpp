// The command line of `flashsale`, on CLI11 (Debian's libcli11-dev 2.1, header-only). Every
// option is declared once, on the CLI::App of its command: name, target, help text, check.
// --help is generated from those declarations ("usage: flashsale <command> ..." first). A usage
// error names the option or argument: "flashsale: <problem>", then the help of the command
// concerned, on stderr, exit code 2; --help and --version print to stdout and exit 0.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>

#include <CLI/CLI.hpp>

#include "config/config.hpp"

namespace flashsale::cli {

constexpr int exit_usage = 2;

/// A subcommand: its App (options, help) and what runs it once the command line has parsed;
/// `run` returns the exit code.
struct command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

/// Makes `app` the program: its name, the help layout every command inherits, and unknown
/// arguments kept for parse_command_line to name.
void set_up_program(CLI::App& app);

/// Adds subcommand `name` to `parent` (which passes its help layout on).
CLI::App* add_command(CLI::App& parent, const std::string& name, const std::string& description);

/// Parses the command line. nullopt when a command is to run (the one whose App parsed);
/// otherwise the exit code, after --help or --version printed (0) or a usage error reported
/// (exit_usage): a bad or missing value, a missing required option, an unknown option or
/// command, or a command that needs a subcommand given none.
std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv);

/// Prints "flashsale: <problem>" and `app`'s help to stderr; returns exit_usage.
int usage_error(const CLI::App& app, const std::string& problem);

/// The help of `app` alone (CLI::App::help shows the selected subcommand's instead).
std::string help_of(const CLI::App& app);

/// A check for an option's value: a whole integer in [lo, hi] ("5k" is not 5).
CLI::Validator integer_in(std::int64_t lo, std::int64_t hi);
/// A check for an option's value: a finite number in [lo, hi].
CLI::Validator number_in(double lo, double hi);

/// --config FILE and --set KEY=VALUE (repeatable, one pair each), filling `sources`.
void add_config_options(CLI::App& app, config_sources& sources);

/// --ca-cert FILE: the CA an https:// node's certificate must chain to (load, pay-sim).
void add_ca_cert_option(CLI::App& app, std::string& file);

/// Loads the config from `sources` plus this process's FLASHSALE_* environment.
std::variant<node_config, std::string> load_node_config(config_sources sources);

/// The same for a tool that only talks to NATS (`pay-sim`, `cluster status`): of the
/// environment only FLASHSALE_NATS_* counts (FLASHSALE_NATS_PASSWORD and the like), so variables
/// meant for a node or for `flashsale load` do not stop it. `nats_url`, when not empty, is
/// nats.url (the tool's own --nats flag), beating --set.
std::variant<node_config, std::string> load_nats_config(config_sources sources,
                                                        const std::string& nats_url);

} // namespace flashsale::cli
