// `flashsale pay-sim`: the payment simulator as its own process (payments/payment_simulator), to
// scale it out or run it beside a node. Consumes the durable `payments` consumer, so any number
// of these processes share the work and a killed one's messages are redelivered to the others.
// Runs until SIGINT/SIGTERM; prints one line when it starts and its counts when it stops.
#include <signal.h>

#include <iostream>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "node/nats_access.hpp"
#include "payments/payment_simulator.hpp"

namespace flashsale::cli {

namespace {

int pay_sim(const payment_simulator_options& o) {
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
  std::cout << "pay-sim: consuming "
            << (o.cluster_partitions > 0
                    ? "OrderReserved of " + std::to_string(o.cluster_partitions)
                          + " partition streams"
                    : std::string(payments_subject))
            << " from " << redact_nats_url(o.nats_url) << ", paying at " << o.node_url << std::endl;
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

} // namespace

command add_pay_sim(CLI::App& program) {
  auto* app = add_command(
      program, "pay-sim",
      "the payment simulator as its own process (JetStream consumer -> webhook)\n\n"
      "Plays the payment provider: consumes OrderReserved events from JetStream (durable\n"
      "consumer `payments`; a cluster's: one per partition stream, --partitions) and calls the\n"
      "node's signed webhook with the payment result.");
  auto o = std::make_shared<payment_simulator_options>();
  auto sources = std::make_shared<config_sources>();
  app->add_option("--node-url", o->node_url, "the node to call, e.g. http://127.0.0.1:8080")
      ->type_name("URL")
      ->required();
  app->add_option("--nats-url", o->nats_url,
                  "JetStream server(s), e.g. nats://127.0.0.1:4222 (default: nats.url)")
      ->type_name("URL");
  add_config_options(*app, *sources); // the nats.* keys: credentials and TLS (docs/NATS.md)
  app->add_option("--partitions", o->cluster_partitions,
                  "a cluster's partition count (cluster.partitions): read its partition streams "
                  "instead of a single node's FLASHSALE")
      ->type_name("P")
      ->check(integer_in(1, 4096));
  app->add_option("--secret", o->webhook_secret,
                  "the webhook HMAC secret (payments.webhook_secret of the node)")
      ->type_name("SECRET")
      ->required();
  add_ca_cert_option(*app, o->ca_file);
  app->add_option("--workers", o->workers, "threads, each with its own pull subscription")
      ->type_name("N")
      ->check(integer_in(1, 64));
  app->add_option("--latency-ms", o->latency_ms, "simulated provider latency per payment")
      ->type_name("N")
      ->check(integer_in(0, 3600 * 1000));
  app->add_option("--success-rate", o->success_rate, "probability a payment succeeds")
      ->type_name("X")
      ->check(number_in(0, 1));
  app->add_option("--max-deliver", o->max_deliver,
                  "attempts before a payment goes to flashsale.dlq.payments")
      ->type_name("N")
      ->check(integer_in(1, 1000));
  app->add_option("--seed", o->seed, "seed of the success decision")
      ->type_name("N")
      ->check(integer_in(0, 1LL << 62));
  return {app, [app, o, sources] {
            auto loaded = load_nats_config(*sources, o->nats_url);
            if (auto problem = std::get_if<std::string>(&loaded)) {
              std::cerr << "flashsale: " << *problem << "\n";
              return 1;
            }
            const auto& config = std::get<node_config>(loaded);
            if (config.nats.url.rfind("nats://", 0) == 0)
              o->nats_url = config.nats.url;
            o->nats = nats_security_of(config);
            if (o->node_url.empty() || o->nats_url.rfind("nats://", 0) != 0
                || o->webhook_secret.empty())
              return usage_error(*app, "--node-url, --nats-url (or nats.url) and --secret are "
                                       "required");
            return pay_sim(*o);
          }};
}

} // namespace flashsale::cli
