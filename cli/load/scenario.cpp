// Flags -> scenario. Numbers are parsed strictly (the whole value, in range), so a typo such
// as `--buyers 5k` is a usage error instead of a silent 5.
#include "cli/load/scenario.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace flashsale::load {

const char* const scenario_options_help =
    "options:\n"
    "  --url URL             the node, e.g. http://127.0.0.1:8080 (required)\n"
    "  --ca-cert FILE        for an https:// node: the CA (PEM) its certificate must chain to\n"
    "                        (default: the system's trusted CAs)\n"
    "  --product ID          product to sell (default flash)\n"
    "  --stock N             create/reset the product with N units first (needs an admin token);\n"
    "                        without it the product is used as it is\n"
    "  --admin-token TOKEN   admin bearer token (default: $FLASHSALE_ADMIN_TOKEN)\n"
    "  --buyers N            distinct buyers u-<seed>-<i>, one order each (default 10000)\n"
    "  --concurrency N       keep-alive connections, one worker thread each (default 64)\n"
    "  --quantity N          units per order, 1..1000 (default 1)\n"
    "  --rate R              open loop: R orders/s at fixed intervals, latency measured from\n"
    "                        the scheduled send time; 0 = closed loop (default 0)\n"
    "  --duration SECONDS    stop after this long; buyers keep ordering until then\n"
    "  --pay-share X         share 0..1 of accepted orders paid through the webhook (default 0)\n"
    "  --webhook-secret S    webhook HMAC secret (default: $FLASHSALE_WEBHOOK_SECRET, then\n"
    "                        $FLASHSALE_PAYMENTS_WEBHOOK_SECRET)\n"
    "  --seed N              seed for buyer ids and payment choice (default 1)\n"
    "  --strict              shed answers (429/503) fail the verdict too\n"
    "  --no-idempotency-keys send orders without an Idempotency-Key header\n"
    "\n"
    "a real crowd (one connection per buyer, driven by one event loop):\n"
    "  --crowd               every buyer opens its own connection, sends one order and waits;\n"
    "                        the report gives each buyer's wait from connect to answer\n"
    "  --arrival-window S    buyers connect evenly spread over S seconds (default 1)\n"
    "  --hold S              after its answer each buyer stays connected, idle, S seconds\n"
    "                        (default 0: it hangs up at once)\n"
    "  --idle-sockets N      N connections that send nothing, held open for the whole run\n"
    "  --buyer-timeout S     a buyer with no complete answer after S seconds is unanswered\n"
    "                        (default 30)\n"
    "  --json                print one JSON object instead of the text report\n"
    "  --html FILE           also write a self-contained HTML report\n"
    "  --help                this text\n"
    "\n"
    "exit status: 0 the verdict passed, 1 it failed (or the run could not start), 2 usage error\n";

namespace {

bool parse_int(const std::string& text, std::int64_t lo, std::int64_t hi, std::int64_t& out) {
  if (text.empty())
    return false;
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || v < lo || v > hi)
    return false;
  out = v;
  return true;
}

bool parse_real(const std::string& text, double lo, double hi, double& out) {
  if (text.empty())
    return false;
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(text.c_str(), &end);
  if (errno != 0 || *end != '\0' || !std::isfinite(v) || v < lo || v > hi)
    return false;
  out = v;
  return true;
}

} // namespace

parse_result parse_scenario(const std::vector<std::string>& args, const char* (*env)(const char*)) {
  scenario s;
  bool token_flag = false, secret_flag = false;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::optional<std::string> inline_value;
    if (auto eq = flag.find('='); flag.rfind("--", 0) == 0 && eq != std::string::npos) {
      inline_value = flag.substr(eq + 1);
      flag.resize(eq);
    }
    if (flag == "--help" || flag == "-h")
      return help_requested{};
    auto is_switch = [&](const char* name, bool& target) {
      if (flag != name)
        return false;
      target = true;
      return true;
    };
    bool no_keys = false;
    if (is_switch("--json", s.json) || is_switch("--strict", s.strict)
        || is_switch("--crowd", s.crowd))
      continue;
    if (is_switch("--no-idempotency-keys", no_keys)) {
      s.idempotency_keys = false;
      continue;
    }

    static const char* const valued[] = {"--url",         "--product",        "--stock",
                                         "--admin-token", "--buyers",         "--concurrency",
                                         "--quantity",    "--rate",           "--duration",
                                         "--pay-share",   "--webhook-secret", "--seed",
                                         "--html",        "--arrival-window", "--hold",
                                         "--ca-cert",     "--idle-sockets",   "--buyer-timeout"};
    bool known = false;
    for (auto* v : valued)
      known = known || flag == v;
    if (!known)
      return usage_problem{"unknown option '" + args[i] + "'"};
    std::string value;
    if (inline_value) {
      value = *inline_value;
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return usage_problem{flag + " needs a value"};
    }
    auto bad = [&](const std::string& what) {
      return usage_problem{flag + " must be " + what + ", got '" + value + "'"};
    };
    std::int64_t n = 0;
    double x = 0;
    if (flag == "--url") {
      if (value.rfind("http://", 0) != 0 && value.rfind("https://", 0) != 0)
        return bad("an http:// or https:// URL");
      while (!value.empty() && value.back() == '/')
        value.pop_back();
      s.url = value;
    } else if (flag == "--product") {
      if (value.empty() || value.size() > 128
          || value.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                     "0123456789._:-")
                 != std::string::npos)
        return bad("an id of 1..128 characters [A-Za-z0-9._:-]");
      s.product = value;
    } else if (flag == "--stock") {
      if (!parse_int(value, 0, 1000000000, n))
        return bad("an integer 0..1000000000");
      s.stock = n;
    } else if (flag == "--admin-token") {
      s.admin_token = value;
      token_flag = true;
    } else if (flag == "--buyers") {
      if (!parse_int(value, 1, 1000000000, n))
        return bad("an integer >= 1");
      s.buyers = n;
    } else if (flag == "--concurrency") {
      if (!parse_int(value, 1, 4096, n))
        return bad("an integer 1..4096");
      s.concurrency = static_cast<int>(n);
    } else if (flag == "--quantity") {
      if (!parse_int(value, 1, 1000, n))
        return bad("an integer 1..1000");
      s.quantity = static_cast<int>(n);
    } else if (flag == "--rate") {
      if (!parse_real(value, 0, 10000000, x))
        return bad("a number of requests per second >= 0");
      s.rate = x;
    } else if (flag == "--duration") {
      if (!parse_real(value, 0.001, 86400 * 7, x))
        return bad("a positive number of seconds");
      s.duration_s = x;
    } else if (flag == "--pay-share") {
      if (!parse_real(value, 0, 1, x))
        return bad("a number 0..1");
      s.pay_share = x;
    } else if (flag == "--webhook-secret") {
      s.webhook_secret = value;
      secret_flag = true;
    } else if (flag == "--seed") {
      if (!parse_int(value, 0, INT64_MAX, n))
        return bad("a non-negative integer");
      s.seed = static_cast<std::uint64_t>(n);
    } else if (flag == "--ca-cert") {
      s.ca_cert = value;
    } else if (flag == "--arrival-window") {
      if (!parse_real(value, 0, 3600, x))
        return bad("a number of seconds 0..3600");
      s.arrival_window_s = x;
    } else if (flag == "--hold") {
      if (!parse_real(value, 0, 3600, x))
        return bad("a number of seconds 0..3600");
      s.hold_s = x;
    } else if (flag == "--idle-sockets") {
      if (!parse_int(value, 0, 1000000, n))
        return bad("an integer 0..1000000");
      s.idle_sockets = n;
    } else if (flag == "--buyer-timeout") {
      if (!parse_real(value, 0.001, 3600, x))
        return bad("a positive number of seconds");
      s.buyer_timeout_s = x;
    } else if (flag == "--html") {
      if (value.empty())
        return bad("a file name");
      s.html_file = value;
    }
  }
  if (s.url.empty())
    return usage_problem{"--url is required"};
  if (s.crowd && s.url.rfind("https://", 0) == 0)
    return usage_problem{"--crowd speaks plain HTTP only (its event loop has no TLS); run the "
                         "crowd against http://, or measure HTTPS with the closed or open loop"};
  if (s.crowd && (s.rate > 0 || s.duration_s))
    return usage_problem{"--crowd takes neither --rate nor --duration: every buyer arrives once, "
                         "within --arrival-window"};
  if (!token_flag && env)
    if (const char* t = env("FLASHSALE_ADMIN_TOKEN"))
      s.admin_token = t;
  if (!secret_flag && env) {
    const char* w = env("FLASHSALE_WEBHOOK_SECRET");
    if (!w || !*w)
      w = env("FLASHSALE_PAYMENTS_WEBHOOK_SECRET");
    if (w)
      s.webhook_secret = w;
  }
  if (s.stock && s.admin_token.empty())
    return usage_problem{"--stock needs an admin token (--admin-token or FLASHSALE_ADMIN_TOKEN)"};
  if (s.pay_share > 0 && s.webhook_secret.empty())
    return usage_problem{"--pay-share needs a webhook secret (--webhook-secret or "
                         "FLASHSALE_WEBHOOK_SECRET)"};
  return s;
}

} // namespace flashsale::load
