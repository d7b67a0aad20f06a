// `flashsale pay-sim`: the payment simulator as its own process (payments/payment_simulator), to
// scale it out or run it beside a node. Consumes the durable `payments` consumer, so any number
// of these processes share the work and a killed one's messages are redelivered to the others.
// Runs until SIGINT/SIGTERM; prints one line when it starts and its counts when it stops.
#include <signal.h>

#include <cerrno>
#include <cstdlib>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "node/nats_access.hpp"
#include "payments/payment_simulator.hpp"

namespace flashsale::cli {

const char* const pay_sim_usage =
    "usage: flashsale pay-sim --node-url URL --nats-url URL --secret SECRET [options]\n"
    "\n"
    "Plays the payment provider: consumes OrderReserved events from JetStream (durable\n"
    "consumer `payments`) and calls the node's signed webhook with the payment result.\n"
    "\n"
    "  --node-url URL       the node to call, e.g. http://127.0.0.1:8080\n"
    "  --nats-url URL       JetStream server, e.g. nats://127.0.0.1:4222 (default: nats.url)\n"
    "  --config FILE        a config file for the nats.* keys: credentials and TLS for the\n"
    "                       NATS server (nats.user, nats.tls.ca_file, ...; docs/NATS.md)\n"
    "  --set KEY=VALUE      one such key, e.g. --set nats.user=payments (repeatable); the\n"
    "                       environment's FLASHSALE_NATS_* count too (FLASHSALE_NATS_PASSWORD)\n"
    "  --secret SECRET      the webhook HMAC secret (payments.webhook_secret of the node)\n"
    "  --ca-cert FILE       for an https:// node: the CA (PEM) its certificate must chain to\n"
    "                       (default: the system's trusted CAs)\n"
    "  --workers N          threads, each with its own pull subscription (default 2)\n"
    "  --latency-ms N       simulated provider latency per payment (default 3000)\n"
    "  --success-rate X     probability a payment succeeds, 0..1 (default 0.9)\n"
    "  --max-deliver N      attempts before a payment goes to flashsale.dlq.payments (default 5)\n"
    "  --seed N             seed of the success decision (default fixed)\n";

namespace {

bool parse_int(const std::string& text, long long min, long long max, long long& out) {
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || errno != 0 || *end != '\0' || v < min || v > max)
    return false;
  out = v;
  return true;
}

} // namespace

int pay_sim(const args& a) {
  payment_simulator_options o;
  o.workers = 2;
  o.latency_ms = 3000;
  o.success_rate = 0.9;
  o.max_deliver = 5;
  config_sources sources;
  std::string nats_url;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto& flag = a[i];
    if (flag == "--help" || flag == "-h") {
      std::cout << pay_sim_usage;
      return 0;
    }
    std::string problem;
    if (take_config_option(a, i, sources, problem)) {
      if (!problem.empty())
        return usage_error(problem, pay_sim_usage);
      continue;
    }
    if (i + 1 >= a.size())
      return usage_error(flag.rfind("--", 0) == 0 ? "missing value for " + flag
                                                  : "unknown option '" + flag + "'",
                         pay_sim_usage);
    const auto& value = a[++i];
    long long n = 0;
    if (flag == "--node-url")
      o.node_url = value;
    else if (flag == "--nats-url")
      nats_url = value;
    else if (flag == "--secret")
      o.webhook_secret = value;
    else if (flag == "--ca-cert")
      o.ca_file = value;
    else if (flag == "--workers" && parse_int(value, 1, 64, n))
      o.workers = static_cast<int>(n);
    else if (flag == "--latency-ms" && parse_int(value, 0, 3600 * 1000, n))
      o.latency_ms = n;
    else if (flag == "--max-deliver" && parse_int(value, 1, 1000, n))
      o.max_deliver = static_cast<int>(n);
    else if (flag == "--seed" && parse_int(value, 0, (1LL << 62), n))
      o.seed = static_cast<std::uint64_t>(n);
    else if (flag == "--success-rate") {
      char* end = nullptr;
      double x = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0' || !(x >= 0 && x <= 1))
        return usage_error("--success-rate: expected a number 0..1, got '" + value + "'",
                           pay_sim_usage);
      o.success_rate = x;
    } else if (flag == "--workers" || flag == "--latency-ms" || flag == "--max-deliver"
               || flag == "--seed")
      return usage_error(flag + ": expected an integer in range, got '" + value + "'",
                         pay_sim_usage);
    else
      return usage_error("unknown option '" + flag + "'", pay_sim_usage);
  }
  auto loaded = load_nats_config(sources, nats_url);
  if (auto problem = std::get_if<std::string>(&loaded)) {
    std::cerr << "flashsale: " << *problem << "\n";
    return 1;
  }
  const auto& config = std::get<node_config>(loaded);
  if (config.nats.url.rfind("nats://", 0) == 0)
    o.nats_url = config.nats.url;
  o.nats = nats_security_of(config);
  if (o.node_url.empty() || o.nats_url.empty() || o.webhook_secret.empty())
    return usage_error("--node-url, --nats-url (or nats.url) and --secret are required",
                       pay_sim_usage);

  // Before any thread starts, so only sigwait() below sees the stop signals.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto started = payment_simulator::start(o);
  if (auto problem = std::get_if<std::string>(&started)) {
    std::cerr << "flashsale: " << *problem << "\n";
    return 1;
  }
  std::cout << "pay-sim: consuming " << payments_subject << " from " << redact_nats_url(o.nats_url)
            << ", paying at "
            << o.node_url << " with " << o.workers << " workers" << std::endl;
  int received = 0;
  sigwait(&stop_signals, &received);
  auto& sim = *std::get<0>(started);
  auto s = sim.stats();
  std::get<0>(started).reset();
  std::cout << "pay-sim: stopped; succeeded=" << s.succeeded << " failed=" << s.failed
            << " settled=" << s.settled << " retried=" << s.retried
            << " dead_lettered=" << s.dead_lettered << std::endl;
  return 0;
}

} // namespace flashsale::cli
