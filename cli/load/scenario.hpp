// A load scenario: what `flashsale load` was asked to do, parsed from its flags (and the
// FLASHSALE_ADMIN_TOKEN / FLASHSALE_WEBHOOK_SECRET environment). Parsing is pure apart from
// reading those two variables; it never throws and never touches the network.
// invariant: a returned scenario has a url, buyers >= 1, concurrency >= 1, quantity 1..1000,
// 0 <= pay_share <= 1, and a webhook secret whenever pay_share > 0; a crowd has no rate and
// no duration (every buyer arrives once, within the arrival window).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace flashsale::load {

struct scenario {
  std::string url;     ///< scheme://host:port of the node
  std::string ca_cert; ///< PEM CA file an https:// node's certificate is checked against
  std::string product = "flash";
  std::optional<std::int64_t> stock; ///< set: create/reset the product (needs admin_token)
  std::string admin_token;
  std::int64_t buyers = 10000;      ///< distinct user ids u-<seed>-<i>
  int concurrency = 64;             ///< keep-alive connections = worker threads
  int quantity = 1;                 ///< units per order
  double rate = 0;                  ///< open loop: orders/s; 0 = closed loop
  std::optional<double> duration_s; ///< cap; in a closed loop it also keeps buyers ordering
  double pay_share = 0;             ///< share of accepted orders paid via the webhook
  std::string webhook_secret;
  std::uint64_t seed = 1;
  bool json = false;
  std::string html_file;        ///< empty: no HTML report
  bool strict = false;          ///< shed answers (429/503) fail the verdict too
  bool idempotency_keys = true; ///< send an Idempotency-Key with every order, as careful clients do

  // A crowd (--crowd): one connection per buyer instead of `concurrency` busy ones.
  bool crowd = false;
  double arrival_window_s = 1;   ///< buyers connect evenly spread over this window
  double hold_s = 0;             ///< each buyer stays connected, idle, this long after its answer
  std::int64_t idle_sockets = 0; ///< silent connections held open beside the crowd (slowloris)
  double buyer_timeout_s = 30;   ///< a buyer without a complete answer by then is unanswered

  bool open_loop() const { return rate > 0; }
};

/// `--help` was asked for.
struct help_requested {};
/// A usage error: the message for "flashsale: <problem>".
struct usage_problem {
  std::string problem;
};

using parse_result = std::variant<scenario, help_requested, usage_problem>;

/// Parses the arguments after `flashsale load`. `env` looks up an environment variable
/// (nullptr when unset); tests pass their own.
parse_result parse_scenario(const std::vector<std::string>& args, const char* (*env)(const char*));

/// The option list printed by --help.
extern const char* const scenario_options_help;

} // namespace flashsale::load
