// `flashsale pay-sim`: the payment simulator as its own process (payments/payment_simulator), to
// scale it out or run it beside a node. Consumes the durable `payments` consumer, so any number
// of these processes share the work and a killed one's messages are redelivered to the others.
// Runs until SIGINT/SIGTERM; prints one line when it starts and its counts when it stops.
#include <signal.h>

#include <iostream>

#include "cli/commands.hpp"
#include "cli/options.hpp"
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
  std::cout << "pay-sim: consuming " << payments_subject << " from " << o.nats_url << ", paying at "
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

} // namespace

command add_pay_sim(CLI::App& program) {
  auto* app = add_command(
      program, "pay-sim",
      "the payment simulator as its own process (JetStream consumer -> webhook)\n\n"
      "Plays the payment provider: consumes OrderReserved events from JetStream (durable\n"
      "consumer `payments`) and calls the node's signed webhook with the payment result.");
  auto o = std::make_shared<payment_simulator_options>();
  app->add_option("--node-url", o->node_url, "the node to call, e.g. http://127.0.0.1:8080")
      ->type_name("URL")
      ->required();
  app->add_option("--nats-url", o->nats_url, "JetStream server, e.g. nats://127.0.0.1:4222")
      ->type_name("URL")
      ->required();
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
  return {app, [app, o] {
            if (o->node_url.empty() || o->nats_url.empty() || o->webhook_secret.empty())
              return usage_error(*app, "--node-url, --nats-url and --secret must not be empty");
            return pay_sim(*o);
          }};
}

} // namespace flashsale::cli
