// Flags -> scenario. Every flag is declared once, with its check: numbers are parsed strictly
// (the whole value, in range), so a typo such as `--buyers 5k` is a usage error naming --buyers
// instead of a silent 5.
#include "cli/load/scenario.hpp"

#include <cstdint>

#include "cli/options.hpp"

namespace flashsale::load {

namespace {

using cli::integer_in;
using cli::number_in;

CLI::Validator http_url() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (text.rfind("http://", 0) != 0 && text.rfind("https://", 0) != 0)
          return "expected an http:// or https:// URL, got '" + text + "'";
        return "";
      },
      "");
}

CLI::Validator id_chars() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (text.empty() || text.size() > 128
            || text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789._:-")
                   != std::string::npos)
          return "expected an id of 1..128 characters [A-Za-z0-9._:-], got '" + text + "'";
        return "";
      },
      "");
}

CLI::Validator not_empty() {
  return CLI::Validator(
      [](std::string& text) -> std::string { return text.empty() ? "expected a file name" : ""; },
      "");
}

} // namespace

scenario_flags add_scenario_options(CLI::App& app, scenario& s) {
  scenario_flags given;
  app.add_option("--url", s.url, "the node, e.g. http://127.0.0.1:8080")
      ->type_name("URL")
      ->required()
      ->check(http_url());
  cli::add_ca_cert_option(app, s.ca_cert);
  app.add_option("--product", s.product, "product to sell")->type_name("ID")->check(id_chars());
  app.add_option_function<std::int64_t>(
         "--stock", [&s](std::int64_t n) { s.stock = n; },
         "create/reset the product with N units first (needs an admin token); without it the "
         "product is used as it is")
      ->type_name("N")
      ->check(integer_in(0, 1000000000));
  given.admin_token = app.add_option("--admin-token", s.admin_token,
                                     "admin bearer token (default: $FLASHSALE_ADMIN_TOKEN)")
                          ->type_name("TOKEN");
  app.add_option("--buyers", s.buyers, "distinct buyers u-<seed>-<i>, one order each")
      ->type_name("N")
      ->check(integer_in(1, 1000000000));
  app.add_option("--concurrency", s.concurrency, "keep-alive connections, one worker thread each")
      ->type_name("N")
      ->check(integer_in(1, 4096));
  app.add_option("--quantity", s.quantity, "units per order")
      ->type_name("N")
      ->check(integer_in(1, 1000));
  app.add_option("--rate", s.rate,
                 "open loop: R orders/s at fixed intervals, latency measured from the scheduled "
                 "send time; 0 = closed loop")
      ->type_name("R")
      ->check(number_in(0, 10000000));
  app.add_option_function<double>(
         "--duration", [&s](double seconds) { s.duration_s = seconds; },
         "stop after this long; buyers keep ordering until then")
      ->type_name("SECONDS")
      ->check(number_in(0.001, 86400 * 7));
  app.add_option("--pay-share", s.pay_share, "share of accepted orders paid through the webhook")
      ->type_name("X")
      ->check(number_in(0, 1));
  given.webhook_secret =
      app.add_option("--webhook-secret", s.webhook_secret,
                     "webhook HMAC secret (default: $FLASHSALE_WEBHOOK_SECRET, then "
                     "$FLASHSALE_PAYMENTS_WEBHOOK_SECRET)")
          ->type_name("S");
  app.add_option("--seed", s.seed, "seed for buyer ids and payment choice")
      ->type_name("N")
      ->check(integer_in(0, INT64_MAX));
  app.add_flag("--strict", s.strict, "shed answers (429/503) fail the verdict too");
  app.add_flag_callback(
      "--no-idempotency-keys", [&s] { s.idempotency_keys = false; },
      "send orders without an Idempotency-Key header");
  app.add_flag("--json", s.json, "print one JSON object instead of the text report");
  app.add_option("--html", s.html_file, "also write a self-contained HTML report")
      ->type_name("FILE")
      ->check(not_empty());

  const char* crowd = "A real crowd (one connection per buyer, driven by one event loop)";
  app.add_flag("--crowd", s.crowd,
               "every buyer opens its own connection, sends one order and waits; the report "
               "gives each buyer's wait from connect to answer")
      ->group(crowd);
  app.add_option("--arrival-window", s.arrival_window_s,
                 "buyers connect evenly spread over S seconds")
      ->type_name("S")
      ->check(number_in(0, 3600))
      ->group(crowd);
  app.add_option("--hold", s.hold_s,
                 "after its answer each buyer stays connected, idle, S seconds (0: it hangs up "
                 "at once)")
      ->type_name("S")
      ->check(number_in(0, 3600))
      ->group(crowd);
  app.add_option("--idle-sockets", s.idle_sockets,
                 "N connections that send nothing, held open for the whole run")
      ->type_name("N")
      ->check(integer_in(0, 1000000))
      ->group(crowd);
  app.add_option("--buyer-timeout", s.buyer_timeout_s,
                 "a buyer with no complete answer after S seconds is unanswered")
      ->type_name("S")
      ->check(number_in(0.001, 3600))
      ->group(crowd);
  return given;
}

std::optional<std::string> finish_scenario(scenario& s, const scenario_flags& given,
                                           const char* (*env)(const char*)) {
  while (!s.url.empty() && s.url.back() == '/')
    s.url.pop_back();
  if (s.crowd && s.url.rfind("https://", 0) == 0)
    return std::string("--crowd speaks plain HTTP only (its event loop has no TLS); run the "
                       "crowd against http://, or measure HTTPS with the closed or open loop");
  if (s.crowd && (s.rate > 0 || s.duration_s))
    return std::string("--crowd takes neither --rate nor --duration: every buyer arrives once, "
                       "within --arrival-window");
  if (given.admin_token && given.admin_token->count() == 0 && env)
    if (const char* t = env("FLASHSALE_ADMIN_TOKEN"))
      s.admin_token = t;
  if (given.webhook_secret && given.webhook_secret->count() == 0 && env) {
    const char* w = env("FLASHSALE_WEBHOOK_SECRET");
    if (!w || !*w)
      w = env("FLASHSALE_PAYMENTS_WEBHOOK_SECRET");
    if (w)
      s.webhook_secret = w;
  }
  if (s.stock && s.admin_token.empty())
    return std::string("--stock needs an admin token (--admin-token or FLASHSALE_ADMIN_TOKEN)");
  if (s.pay_share > 0 && s.webhook_secret.empty())
    return std::string("--pay-share needs a webhook secret (--webhook-secret or "
                       "FLASHSALE_WEBHOOK_SECRET)");
  return std::nullopt;
}

} // namespace flashsale::load
