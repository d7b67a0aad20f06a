#include "cli/options.hpp"

#include <iostream>

namespace flashsale::cli {

int usage_error(const std::string& problem, const char* usage) {
  std::cerr << "flashsale: " << problem << "\n\n" << usage;
  return exit_usage;
}

bool take_config_option(const std::vector<std::string>& argv, size_t& i, config_sources& sources,
                        std::string& problem) {
  const auto& arg = argv[i];
  auto value_of = [&](const std::string& flag) -> std::optional<std::string> {
    if (arg == flag) {
      if (i + 1 >= argv.size()) {
        problem = flag + " needs a value";
        return std::nullopt;
      }
      return argv[++i];
    }
    return argv[i].substr(flag.size() + 1); // --flag=value
  };
  if (arg == "--config" || arg.rfind("--config=", 0) == 0) {
    if (auto v = value_of("--config"))
      sources.file = *v;
    return true;
  }
  if (arg == "--set" || arg.rfind("--set=", 0) == 0) {
    if (auto v = value_of("--set"))
      sources.sets.push_back(*v);
    return true;
  }
  return false;
}

std::variant<node_config, std::string> load_node_config(config_sources sources) {
  sources.env = flashsale_environment();
  return load_config(sources);
}

} // namespace flashsale::cli
