// Command-line parsing shared by the subcommands: the common --config/--set options that
// select the node's configuration, and the usage-error convention (message + usage on
// stderr, exit code 2).
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "config/config.hpp"

namespace flashsale::cli {

constexpr int exit_usage = 2;

/// Prints "flashsale: <problem>" and `usage` to stderr; returns exit_usage.
int usage_error(const std::string& problem, const char* usage);

/// Consumes --config FILE / --set KEY=VALUE at `argv[i]` (advancing i); false if argv[i] is
/// neither. A missing value is reported through `problem`.
bool take_config_option(const std::vector<std::string>& argv, size_t& i, config_sources& sources,
                        std::string& problem);

/// Loads the config from `sources` plus this process's FLASHSALE_* environment.
std::variant<node_config, std::string> load_node_config(config_sources sources);

} // namespace flashsale::cli
