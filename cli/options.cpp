#include "cli/options.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace flashsale::cli {

namespace {

/// True when `app` has subcommands to choose from (`flashsale help` is not listed).
bool has_subcommands(const CLI::App& app) {
  return !app.get_subcommands([](const CLI::App* s) { return !s->get_group().empty(); }).empty();
}

/// "usage: flashsale cluster status --nats URLS [options]" first (required options spelled
/// out), then the description, the generated option list, the subcommands and the footer.
class help_layout : public CLI::Formatter {
public:
  help_layout() { column_width(28); }

  std::string make_usage(const CLI::App* app, std::string) const override {
    std::string path = app->get_name();
    for (auto* p = app->get_parent(); p; p = p->get_parent())
      path = p->get_name() + " " + path;
    std::string out = "usage: " + path;
    bool more = false;
    for (const CLI::Option* o : app->get_options()) {
      if (o->get_required())
        out += " " + o->get_name() + " " + o->get_type_name();
      else
        more = true;
    }
    if (has_subcommands(*app))
      out += " <command>";
    return out + (more ? " [options]\n" : "\n");
  }

  std::string make_help(const CLI::App* app, std::string name,
                        CLI::AppFormatMode mode) const override {
    if (mode == CLI::AppFormatMode::Sub)
      return make_expanded(app);
    auto footer = make_footer(app);
    return make_usage(app, name) + "\n" + make_description(app) + make_groups(app, mode)
           + make_subcommands(app, mode) + (footer.empty() ? "" : "\n" + footer);
  }

  /// A command in its parent's list: its name and the first line of its description.
  std::string make_subcommand(const CLI::App* sub) const override {
    const auto& text = sub->get_description();
    std::stringstream out;
    CLI::detail::format_help(out, sub->get_name(), text.substr(0, text.find('\n')), column_width_);
    return out.str();
  }

  /// An option's description, wrapped to fit beside the option column.
  std::string make_option_desc(const CLI::Option* o) const override {
    std::string out, line;
    std::istringstream words(o->get_description());
    for (std::string word; words >> word;) {
      if (!line.empty() && line.size() + 1 + word.size() > 100 - column_width_) {
        out += line + "\n";
        line.clear();
      }
      line += (line.empty() ? "" : " ") + word;
    }
    return out + line;
  }

  /// What follows an option's name: "N in 1..64 [2]", "KEY=VALUE ...", "URL (required)".
  std::string make_option_opts(const CLI::Option* o) const override {
    if (o->get_type_size() == 0)
      return "";                    // a flag
    auto type = o->get_type_name(); // "N:1..64": the type, then its checks' descriptions
    if (auto colon = type.find(':'); colon != std::string::npos)
      type =
          type.substr(0, colon) + (type[colon + 1] == '>' ? " " : " in ") + type.substr(colon + 1);
    std::string out = " " + type;
    if (!o->get_default_str().empty())
      out += " [" + o->get_default_str() + "]";
    if (o->get_expected_max() == CLI::detail::expected_max_vector_size)
      out += " ...";
    if (o->get_required())
      out += " (required)";
    return out;
  }
};

/// 10000000 rather than 1e+07, 0.001 as it is.
std::string plain_number(double v) {
  std::ostringstream out;
  out << std::setprecision(15) << v;
  return out.str();
}

/// The innermost command the command line selected (`app` itself when none).
const CLI::App& selected(const CLI::App& app) {
  auto chosen = app.get_subcommands();
  return chosen.empty() ? app : selected(*chosen.front());
}

/// What a CLI11 error says, in the project's words where CLI11's are obscure.
std::string problem_of(const CLI::ParseError& e) {
  std::string text = e.what();
  // CLI11's "--set: 1 required KEY=VALUE missing": the option was given without its value.
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&e) && text.size() > 8
      && text.compare(text.size() - 8, 8, " missing") == 0)
    return text.substr(0, text.find(':')) + " needs a value";
  return text;
}

/// An argument no declaration took, where `app` met it.
std::string unknown_argument(const CLI::App& app, const std::string& arg) {
  if (arg.rfind("-", 0) == 0)
    return "unknown option '" + arg + "'";
  if (has_subcommands(app))
    return app.get_parent() ? "unknown " + app.get_name() + " subcommand '" + arg + "'"
                            : "unknown command '" + arg + "'";
  return "unexpected argument '" + arg + "'";
}

} // namespace

void set_up_program(CLI::App& app) {
  app.name("flashsale");
  app.formatter(std::make_shared<help_layout>());
  app.option_defaults()->always_capture_default(); // --help shows every default
  app.allow_extras(); // kept in remaining(), named by parse_command_line
}

CLI::App* add_command(CLI::App& parent, const std::string& name, const std::string& description) {
  auto* sub = parent.add_subcommand(name, description);
  sub->allow_extras();
  return sub;
}

std::string help_of(const CLI::App& app) {
  return app.get_formatter()->make_help(&app, app.get_name(), CLI::AppFormatMode::Normal);
}

int usage_error(const CLI::App& app, const std::string& problem) {
  std::cerr << "flashsale: " << problem << "\n\n" << help_of(app);
  return exit_usage;
}

std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv) {
  std::optional<std::string> problem;
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << help_of(selected(app));
    return 0;
  } catch (const CLI::CallForVersion& e) {
    std::cout << e.what() << "\n";
    return 0;
  } catch (const CLI::ParseError& e) {
    problem = problem_of(e);
  }
  // An argument nothing took comes first (`pay-sim --bogus 1` is about --bogus, not about a
  // required option it lacks as well): the first one, outermost command first.
  for (const CLI::App* a = &app; a;) {
    if (auto rest = a->remaining(); !rest.empty())
      return usage_error(*a, unknown_argument(*a, rest.front()));
    auto chosen = a->get_subcommands();
    a = chosen.empty() ? nullptr : chosen.front();
  }
  const auto& last = selected(app);
  if (problem)
    return usage_error(last, *problem);
  if (has_subcommands(last))
    return usage_error(last, last.get_parent() ? "missing " + last.get_name() + " subcommand"
                                               : std::string("missing command"));
  return std::nullopt;
}

CLI::Validator integer_in(std::int64_t lo, std::int64_t hi) {
  auto range =
      hi == INT64_MAX ? ">= " + std::to_string(lo) : std::to_string(lo) + ".." + std::to_string(hi);
  return CLI::Validator(
      [lo, hi, range](std::string& text) -> std::string {
        char* end = nullptr;
        errno = 0;
        long long v = std::strtoll(text.c_str(), &end, 10);
        if (text.empty() || errno != 0 || *end != '\0' || v < lo || v > hi)
          return "expected an integer " + range + ", got '" + text + "'";
        return "";
      },
      range);
}

CLI::Validator number_in(double lo, double hi) {
  auto range = plain_number(lo) + ".." + plain_number(hi);
  return CLI::Validator(
      [lo, hi, range](std::string& text) -> std::string {
        char* end = nullptr;
        errno = 0;
        double v = std::strtod(text.c_str(), &end);
        if (text.empty() || errno != 0 || *end != '\0' || !std::isfinite(v) || v < lo || v > hi)
          return "expected a number " + range + ", got '" + text + "'";
        return "";
      },
      range);
}

void add_config_options(CLI::App& app, config_sources& sources) {
  app.add_option("--config", sources.file,
                 "JSON config file (keys and defaults: config/flashsale.json)")
      ->type_name("FILE");
  app.add_option("--set", sources.sets, "override one key, e.g. --set http.port=0 (repeatable)")
      ->type_name("KEY=VALUE")
      ->default_str("")          // not "[]"
      ->allow_extra_args(false); // one pair per --set: a second word is an error, not a pair
  app.footer("Every key can also be set as FLASHSALE_<KEY> (dots to underscores, upper case);\n"
             "--set beats the environment, which beats the file.");
}

void add_ca_cert_option(CLI::App& app, std::string& file) {
  app.add_option("--ca-cert", file,
                 "for an https:// node: the CA (PEM) its certificate must chain to (default: the "
                 "system's trusted CAs)")
      ->type_name("FILE");
}

std::variant<node_config, std::string> load_node_config(config_sources sources) {
  sources.env = flashsale_environment();
  return load_config(sources);
}

std::variant<node_config, std::string> load_nats_config(config_sources sources,
                                                        const std::string& nats_url) {
  for (auto& [name, value] : flashsale_environment())
    if (name.rfind("FLASHSALE_NATS_", 0) == 0)
      sources.env.emplace_back(name, value);
  if (!nats_url.empty())
    sources.sets.push_back("nats.url=" + nats_url);
  return load_config(sources);
}

} // namespace flashsale::cli
