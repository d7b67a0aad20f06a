// `flashsale serve`: start the node, print where it listens, serve until SIGINT/SIGTERM, then
// stop taking requests, let those in flight finish, shut the node down and exit 0.
#include <signal.h>

#include <iostream>
#include <tuple>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "http/secrets.hpp"
#include "http/server.hpp"
#include "node/cluster_node.hpp"
#include "node/edge_front.hpp"
#include "node/edge_sold_out.hpp"
#include "node/node.hpp"

namespace flashsale::cli {

namespace {

int serve(const config_sources& sources) {
  auto loaded = load_node_config(sources);
  if (auto problem = std::get_if<std::string>(&loaded)) {
    std::cerr << "flashsale: " << *problem << "\n";
    return 1;
  }
  const auto& config = std::get<node_config>(loaded);

  // Block the stop signals before any thread starts, so every thread inherits the mask and
  // only sigwait() below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN); // a client that hangs up must not kill the node

  // One node, or (cluster.enabled) a member of a cluster of them: the adapter sees a node_api.
  std::unique_ptr<node_api> started;
  node* single = nullptr; // the in-node payment simulator is single-node only
  cluster_node* member_node = nullptr;
  if (config.cluster.enabled) {
    auto member = cluster_node::start(config);
    if (auto problem = std::get_if<std::string>(&member)) {
      std::cerr << "flashsale: " << *problem << "\n";
      return 1;
    }
    member_node = std::get<0>(member).get();
    started = std::move(std::get<0>(member));
    std::cout << "cluster: node " << config.cluster.node_id << " joined ("
              << config.cluster.partitions << " partitions)" << std::endl;
  } else {
    auto one = node::start(config);
    if (auto problem = std::get_if<std::string>(&one)) {
      std::cerr << "flashsale: " << *problem << "\n";
      return 1;
    }
    single = std::get<0>(one).get();
    started = std::move(std::get<0>(one));
  }
  auto& the_node = *started;
  bool fronted = config.http.front == "embedded";
  http_options options;
  // Behind the front the adapter listens on a loopback port of its own; the front takes
  // http.host:http.port.
  options.host = fronted ? "127.0.0.1" : config.http.host;
  options.port = fronted ? 0 : config.http.port;
  options.behind_front = fronted;
  options.threads = config.http.threads > 0 ? config.http.threads : default_http_threads(fronted);
  options.max_body_bytes = static_cast<long>(config.http.max_body_bytes);
  options.shed_after_ms = config.http.shed_after_ms;
  options.default_hold_seconds = config.orders.hold_seconds;
  options.rate_per_user_per_second = config.rate_limit.per_user_per_second;
  options.rate_per_address_per_second = config.rate_limit.per_address_per_second;
  options.rate_burst = config.rate_limit.burst;
  // After node::start: the data dir exists and is locked, so no other node races the files.
  // Only the paths are printed, never the secrets.
  for (auto [configured, file, target, label] :
       {std::tuple{&config.admin_token, "admin_token", &options.admin_token, "admin token"},
        std::tuple{&config.payments.webhook_secret, "webhook_secret", &options.webhook_secret,
                   "webhook secret"}}) {
    auto loaded_secret = load_or_create_secret(*configured, config.data_dir, file);
    if (auto problem = std::get_if<std::string>(&loaded_secret)) {
      std::cerr << "flashsale: " << *problem << "\n";
      return 1;
    }
    auto& s = std::get<secret>(loaded_secret);
    *target = s.value;
    std::cout << label << ": " << (s.path.empty() ? "from config" : s.path) << std::endl;
  }
  std::shared_ptr<edge_sold_out> sold_out;
  if (fronted) { // the edge turns sold-out buyers away itself (node/edge_sold_out.hpp)
    sold_out = std::make_shared<edge_sold_out>(config.data_dir);
    options.availability = sold_out_feed(sold_out);
    options.edge_orders = edge_order_counts(sold_out);
  }
  auto bound = http_server::bind(options, the_node);
  if (auto problem = std::get_if<std::string>(&bound)) {
    std::cerr << "flashsale: " << *problem << "\n";
    return 1;
  }
  auto& server = *std::get<0>(bound);
  server.start();
  std::unique_ptr<edge_front> front;
  if (fronted) {
    edge_options edge;
    edge.host = config.http.host;
    edge.port = config.http.port;
    edge.backend_port = server.port();
    edge.backend_connections = options.threads;
    edge.max_body_bytes = config.http.max_body_bytes;
    edge.data_dir = config.data_dir;
    edge.tls_cert_file = config.http.tls_cert_file;
    edge.tls_key_file = config.http.tls_key_file;
    edge.sold_out = sold_out;
    auto started_front = edge_front::start(edge);
    if (auto problem = std::get_if<std::string>(&started_front)) {
      std::cerr << "flashsale: " << *problem << "\n";
      server.stop();
      return 1;
    }
    front = std::move(std::get<0>(started_front));
  }
  const char* scheme = front ? front->scheme() : "http";
  int port = front ? front->port() : server.port();
  if (config.payments.simulator.enabled) {
    // The simulator calls our own webhook, so it can only start once the real port is known;
    // through the front, like any client (the adapter's connections are the front's).
    auto host = config.http.host == "0.0.0.0" ? std::string("127.0.0.1") : config.http.host;
    auto url = std::string(scheme) + "://" + host + ":" + std::to_string(port);
    if (auto problem = single->start_payment_simulator(url)) {
      std::cerr << "flashsale: " << *problem << "\n";
      front.reset();
      server.stop();
      return 1;
    }
  }
  std::cout << "flashsale listening on " << scheme << "://" << config.http.host << ":" << port
            << std::endl;
  if (member_node)
    member_node->announce(std::string(scheme) + "://" + config.http.host + ":"
                          + std::to_string(port));

  int received = 0;
  sigwait(&stop_signals, &received);
  std::cout << "flashsale: " << (received == SIGINT ? "SIGINT" : "SIGTERM")
            << ", finishing in-flight requests" << std::endl;
  if (single)
    single->stop_payment_simulator(); // its keep-alive connections would hold the listener
  front.reset();                      // the port closes; requests in flight finish
  server.stop();
  started.reset();
  std::cout << "flashsale: stopped" << std::endl;
  return 0;
}

} // namespace

command add_serve(CLI::App& program) {
  auto* app = add_command(program, "serve",
                          "run the actor node (HTTP API, event store, NATS outbox)\n\n"
                          "Recovers state from the event store in data_dir, then serves the HTTP "
                          "API until\nSIGINT or SIGTERM.");
  auto sources = std::make_shared<config_sources>();
  add_config_options(*app, *sources);
  return {app, [sources] { return serve(*sources); }};
}

} // namespace flashsale::cli
