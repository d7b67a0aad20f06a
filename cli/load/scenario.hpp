// A load scenario: what `flashsale load` was asked to do, from its flags (declared on a CLI11
// App, cli/options.hpp) and the FLASHSALE_ADMIN_TOKEN / FLASHSALE_WEBHOOK_SECRET environment.
// Pure apart from reading those variables; it never touches the network.
// invariant: a returned scenario has a url, buyers >= 1, concurrency >= 1, quantity 1..1000,
// 0 <= pay_share <= 1, and a webhook secret whenever pay_share > 0; a crowd has no rate and
// no duration (every buyer arrives once, within the arrival window).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace CLI {
class App;
class Option;
} // namespace CLI

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

/// The two flags the environment stands in for when they were not given.
struct scenario_flags {
  const CLI::Option* admin_token = nullptr;
  const CLI::Option* webhook_secret = nullptr;
};

/// Declares every flag of `flashsale load` on `app`; each fills `s` and is checked on its own
/// as it is parsed (`--buyers 5k` is a usage error naming --buyers, not a silent 5).
scenario_flags add_scenario_options(CLI::App& app, scenario& s);

/// After parsing: the admin token and the webhook secret from the environment where their flags
/// were not given (`env` looks a variable up, nullptr when unset: tests pass their own), then
/// the checks that involve several flags. The usage problem ("--stock needs an admin token
/// ..."), or nullopt when `s` holds the invariant above.
std::optional<std::string> finish_scenario(scenario& s, const scenario_flags& given,
                                           const char* (*env)(const char*));

} // namespace flashsale::load
