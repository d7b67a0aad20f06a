// `flashsale demo`: a local cluster in one command, as `cockroach demo` gives one. Starts three
// nats-servers (one JetStream cluster, >= 2.12) and N `flashsale serve` nodes in cluster mode on
// loopback, each a supervised child (restarted if it dies), prints where to reach them, and on
// Ctrl-C stops everything it started, by PID. Everything lives in one directory (--dir, else a
// new one in /tmp, removed at the end unless --keep): the servers' configs and stores, each
// node's data dir and log. Loopback only and no TLS or credentials: a demo, not a deployment
// (docs/NATS.md has the production server configuration).
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "node/process_supervisor.hpp"

namespace flashsale::cli {

namespace {

namespace fs = std::filesystem;

struct demo_flags {
  int nodes = 3;
  int partitions = 12;
  std::string dir;
  bool keep = false;
  std::string nats_server;
  std::string front = "embedded";
};

std::string self_path() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("flashsale") : p.string();
}

/// The nats-server cluster mode needs: --nats-server, else the build tree's copy beside this
/// executable (`make deps`), else the one on $PATH (the nodes refuse one older than 2.12).
std::string nats_server_of(const demo_flags& flags) {
  if (!flags.nats_server.empty())
    return flags.nats_server;
  auto beside =
      fs::path(self_path()).parent_path().parent_path() / "deps/nats/root/usr/sbin/nats-server";
  if (::access(beside.c_str(), X_OK) == 0)
    return beside.string();
  return find_program("nats-server");
}

std::string random_token() {
  std::random_device rd;
  char buf[33];
  std::snprintf(buf, sizeof buf, "%08x%08x%08x%08x", rd(), rd(), rd(), rd());
  return buf;
}

int demo(const demo_flags& flags) {
  auto nats = nats_server_of(flags);
  if (nats.empty()) {
    std::cerr << "flashsale demo: no nats-server (>= 2.12) found: run `make deps`, or pass "
                 "--nats-server PATH\n";
    return 1;
  }
  std::string dir = flags.dir;
  if (dir.empty()) {
    char name[] = "/tmp/flashsale-demo-XXXXXX";
    if (!mkdtemp(name)) {
      std::cerr << "flashsale demo: cannot create a directory in /tmp\n";
      return 1;
    }
    dir = name;
  }
  fs::create_directories(dir);
  // Every thread started from here on inherits the blocked stop signals; sigwait takes them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::vector<std::unique_ptr<process_supervisor>> children;
  auto stop_all = [&] {
    while (!children.empty())
      children.pop_back(); // nodes first (they hand their partitions over), servers last
    if (!flags.keep && flags.dir.empty())
      fs::remove_all(dir);
  };
  auto start = [&](child_spec spec) {
    auto started = process_supervisor::start(std::move(spec));
    if (auto problem = std::get_if<std::string>(&started)) {
      std::cerr << "flashsale demo: " << *problem << "\n";
      return false;
    }
    children.push_back(std::move(std::get<0>(started)));
    return true;
  };

  std::vector<int> client(3), route(3);
  for (int i = 0; i < 3; ++i) {
    client[static_cast<std::size_t>(i)] = free_loopback_port();
    route[static_cast<std::size_t>(i)] = free_loopback_port();
  }
  std::string urls;
  for (int i = 0; i < 3; ++i) {
    auto conf = dir + "/nats-" + std::to_string(i) + ".conf";
    std::ofstream out(conf);
    out << "server_name: n" << i << "\nlisten: 127.0.0.1:" << client[static_cast<std::size_t>(i)]
        << "\njetstream { store_dir: \"" << dir << "/nats-" << i << "\" }\n"
        << "cluster {\n  name: flashsale-demo\n  listen: 127.0.0.1:"
        << route[static_cast<std::size_t>(i)] << "\n  routes: [";
    for (int j = 0; j < 3; ++j)
      if (j != i)
        out << " nats://127.0.0.1:" << route[static_cast<std::size_t>(j)];
    out << " ]\n}\n";
    out.close();
    urls += (urls.empty() ? "" : ",") + std::string("nats://127.0.0.1:")
            + std::to_string(client[static_cast<std::size_t>(i)]);
    child_spec spec;
    spec.name = "nats-server n" + std::to_string(i);
    spec.argv = {nats, "-c", conf};
    spec.log_path = dir + "/nats-" + std::to_string(i) + ".log";
    spec.ready = [port = client[static_cast<std::size_t>(i)]] { return accepts_connections(port); };
    if (!start(std::move(spec))) {
      stop_all();
      return 1;
    }
  }

  // One config for the nodes: the secrets stay off their command lines.
  auto token = random_token();
  auto config = dir + "/node.json";
  {
    std::ofstream out(config);
    out << "{\"admin_token\": \"" << token << "\", \"payments\": {\"webhook_secret\": \""
        << random_token() << "\"}}\n";
  }
  fs::permissions(config, fs::perms::owner_read | fs::perms::owner_write);
  std::vector<std::string> addresses;
  for (int n = 1; n <= flags.nodes; ++n) {
    auto port = free_loopback_port();
    auto id = "node" + std::to_string(n);
    child_spec spec;
    spec.name = id;
    spec.argv = {self_path(), "serve",
                 "--config",  config,
                 "--set",     "data_dir=" + dir + "/" + id,
                 "--set",     "http.port=" + std::to_string(port),
                 "--set",     "http.front=" + flags.front,
                 "--set",     "nats.url=" + urls,
                 "--set",     "cluster.enabled=true",
                 "--set",     "cluster.node_id=" + id,
                 "--set",     "cluster.partitions=" + std::to_string(flags.partitions)};
    spec.log_path = dir + "/" + id + ".log";
    spec.ready = [port] { return accepts_connections(port); };
    spec.ready_timeout = std::chrono::seconds(60);
    spec.stop_timeout = std::chrono::seconds(30);
    if (!start(std::move(spec))) {
      stop_all();
      return 1;
    }
    addresses.push_back("http://127.0.0.1:" + std::to_string(port));
  }

  std::cout << "flashsale demo: " << flags.nodes << " nodes, " << flags.partitions
            << " partitions, 3 nats-servers (" << nats << ")\n";
  for (std::size_t i = 0; i < addresses.size(); ++i)
    std::cout << "  node" << (i + 1) << "  " << addresses[i] << "   (log " << dir << "/node"
              << (i + 1) << ".log)\n";
  std::cout << "  nats   " << urls << "\n"
            << "  admin token: " << token << " (in " << config << ")\n\n"
            << "try:\n"
            << "  curl -X PUT " << addresses.front()
            << "/products/iphone -H 'Authorization: Bearer " << token
            << "' -d '{\"name\":\"iPhone\",\"stock\":100}'\n"
            << "  curl -X POST " << addresses.back()
            << "/orders -d '{\"user_id\":\"u-1\",\"product_id\":\"iphone\",\"quantity\":1}'\n"
            << "  " << self_path() << " cluster status --nats " << urls << "\n"
            << "  open " << addresses.front() << "/dashboard\n\n"
            << "Ctrl-C stops everything." << std::endl;
  int received = 0;
  sigwait(&stop_signals, &received);
  std::cout << "flashsale demo: stopping" << std::endl;
  stop_all();
  return 0;
}

} // namespace

command add_demo(CLI::App& program) {
  auto* app = add_command(
      program, "demo",
      "a local cluster in one command: nats-servers and nodes on loopback\n\n"
      "Starts three nats-servers (one JetStream cluster, >= 2.12) and --nodes `flashsale serve`\n"
      "nodes in cluster mode on loopback ports, prints where to reach them, and stops\n"
      "everything it started on Ctrl-C. No TLS, no credentials: a demo, not a deployment.");
  auto flags = std::make_shared<demo_flags>();
  app->add_option("--nodes", flags->nodes, "how many nodes")
      ->type_name("N")
      ->check(integer_in(1, 9));
  app->add_option("--partitions", flags->partitions, "cluster.partitions")
      ->type_name("P")
      ->check(integer_in(1, 256));
  app->add_option("--dir", flags->dir,
                  "where everything lives (default: a new directory in /tmp, removed at the end)")
      ->type_name("DIR");
  app->add_flag("--keep", flags->keep, "keep the directory when it stops");
  app->add_option("--nats-server", flags->nats_server,
                  "the nats-server to run (default: the build tree's, else $PATH's)")
      ->type_name("PATH");
  app->add_option("--front", flags->front, "http.front of the nodes")
      ->type_name("embedded|none")
      ->check(CLI::IsMember({"embedded", "none"}));
  return {app, [flags] { return demo(*flags); }};
}

} // namespace flashsale::cli
