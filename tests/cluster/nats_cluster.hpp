// A real three-server nats-server cluster with JetStream on free loopback ports, each server
// a child process with its store in a temp dir, stopped (or killed, or paused) by its PID.
// It runs as production should (docs/NATS.md): nats-server >= 2.12 (FLASHSALE_CLUSTER_NATS_SERVER,
// never Debian 12's 2.9.10), TLS for clients and routes with a CA and a server certificate made
// here by openssl (SAN IP 127.0.0.1), and the accounts and users of the shipped
// docs/ops/flashsale-accounts.conf, included verbatim; `sync_interval: always` on request.
// Every test connects through the accessors: link_options() (the node user + the CA),
// nats_set_args() (`--set nats.*=...` for `flashsale serve`, `cluster status`, `replay`),
// member_args() (tests/cluster/cluster_member), and *_security() for the other users.
#pragma once

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cluster/nats_link.hpp"
#include "tests/nats/nats_support.hpp"
#include "tests/support/temp_dir.hpp"

namespace flashsale::testing {

/// The nats-server cluster mode needs (>= 2.12): the build tree's copy (make deps).
inline std::string cluster_nats_server() {
#ifdef FLASHSALE_CLUSTER_NATS_SERVER
  return FLASHSALE_CLUSTER_NATS_SERVER;
#else
  return "";
#endif
}

struct nats_cluster_options {
  int size = 3;
  std::string binary = cluster_nats_server(); ///< a nats-server executable
  bool secure = true;       ///< TLS and the shipped accounts; false: plain, no auth (benchmarks)
  bool sync_always = false; ///< jetstream { sync_interval: always }: fsync before every ack
};

/// The users of docs/ops/flashsale-accounts.conf, whose passwords the servers read from the
/// environment variables named here.
struct nats_test_user {
  const char* name;
  const char* password_variable;
};
inline constexpr nats_test_user nats_node_user{"flashsale-node", "FLASHSALE_NODE_PASSWORD"};
inline constexpr nats_test_user nats_payments_user{"flashsale-payments",
                                                   "FLASHSALE_PAYMENTS_PASSWORD"};
inline constexpr nats_test_user nats_reader_user{"flashsale-reader", "FLASHSALE_READER_PASSWORD"};

class nats_cluster {
public:
  explicit nats_cluster(const std::string& root, nats_cluster_options options = {})
    : root_(root), options_(std::move(options)) {
    for (int i = 0; i < options_.size; ++i) {
      client_ports_.push_back(free_port());
      route_ports_.push_back(free_port());
    }
    servers_.resize(options_.size);
    std::random_device rd;
    for (auto* p : {&node_password_, &payments_password_, &reader_password_}) {
      char text[33];
      std::snprintf(text, sizeof text, "%08x%08x%08x%08x", rd(), rd(), rd(), rd());
      *p = text;
    }
  }
  ~nats_cluster() {
    for (std::size_t i = 0; i < servers_.size(); ++i)
      stop(static_cast<int>(i));
  }

  void start_all() {
    for (std::size_t i = 0; i < servers_.size(); ++i)
      start(static_cast<int>(i));
  }

  void start(int i) {
    ASSERT_TRUE(!options_.binary.empty() && ::access(options_.binary.c_str(), X_OK) == 0)
        << "no nats-server at '" << options_.binary << "': cluster mode needs >= 2.12; `make deps` "
        << "(packaging/fetch-nats-server.sh) puts Debian unstable's into the build tree";
    if (options_.secure && !std::ifstream(tls_dir() + "/server.pem")) {
      ASSERT_NO_FATAL_FAILURE(make_certificates());
    }
    auto config = root_ + "/nats-" + std::to_string(i) + ".conf";
    ASSERT_NO_FATAL_FAILURE(write_config(i, config));
    servers_[i] = std::make_unique<child_process>(
        std::vector<std::string>{options_.binary, "-c", config}, server_environment());
    ASSERT_TRUE(
        eventually([&] { return accepts_connections(client_ports_[i]); }, std::chrono::seconds(15)))
        << servers_[i]->output();
  }

  void stop(int i) {
    if (!servers_[i])
      return;
    servers_[i]->signal(SIGTERM);
    servers_[i]->wait_exit(std::chrono::seconds(10));
    servers_[i].reset();
  }

  void kill(int i) {
    servers_[i]->signal(SIGKILL);
    servers_[i]->wait_exit(std::chrono::seconds(10));
    servers_[i].reset();
  }

  /// SIGSTOP: the server holds its sockets but answers nothing (a server cut off silently).
  void pause(int i) { servers_[i]->signal(SIGSTOP); }
  void resume(int i) { servers_[i]->signal(SIGCONT); }

  /// The index of the server named `name` ("n<i>", as started here); -1 for another name.
  int index_of(const std::string& name) const {
    for (std::size_t i = 0; i < servers_.size(); ++i)
      if (name == "n" + std::to_string(i))
        return static_cast<int>(i);
    return -1;
  }

  std::string url(int i) const { return "nats://127.0.0.1:" + std::to_string(client_ports_[i]); }
  /// Every server, comma-separated (what a node's nats.url names in cluster mode).
  std::string urls() const {
    std::string all;
    for (std::size_t i = 0; i < client_ports_.size(); ++i)
      all += (i ? "," : "") + url(static_cast<int>(i));
    return all;
  }
  std::vector<std::string> url_list() const {
    std::vector<std::string> all;
    for (std::size_t i = 0; i < client_ports_.size(); ++i)
      all.push_back(url(static_cast<int>(i)));
    return all;
  }

  // ---- how tests connect --------------------------------------------------------------------

  /// The CA the servers' certificate chains to (PEM); empty when not secure.
  std::string ca_file() const { return options_.secure ? tls_dir() + "/ca.pem" : ""; }

  /// The flashsale nodes' user (everything in account FLASHSALE), trusting the CA.
  nats_security node_security() const { return security_of(nats_node_user, node_password_); }
  /// `flashsale pay-sim`'s user: reads OrderReserved, parks failures in the DLQ.
  nats_security payments_security() const {
    return security_of(nats_payments_user, payments_password_);
  }
  /// Downstream consumers' user: reads events, nothing more.
  nats_security reader_security() const { return security_of(nats_reader_user, reader_password_); }

  /// A link to every server as a node makes it (node user, CA, version check on).
  cluster::nats_link_options link_options(const std::string& name,
                                          std::int64_t api_timeout_ms = 2000) const {
    cluster::nats_link_options o;
    o.urls = url_list();
    o.name = name;
    o.api_timeout_ms = api_timeout_ms;
    o.security = node_security();
    return o;
  }

  /// `--set nats.url=... --set nats.user=... --set nats.password=... --set nats.tls.ca_file=...`
  /// for `flashsale serve`, `flashsale cluster status` and `flashsale replay --partition`.
  std::vector<std::string> nats_set_args() const {
    std::vector<std::string> args{"--set", "nats.url=" + urls()};
    auto s = node_security();
    for (auto [key, value] : {std::pair{"nats.user", s.user},
                              {"nats.password", s.password},
                              {"nats.tls.ca_file", s.ca_file}})
      if (!value.empty()) {
        args.push_back("--set");
        args.push_back(std::string(key) + "=" + value);
      }
    return args;
  }

private:
  std::string tls_dir() const { return root_ + "/tls"; }

  nats_security security_of(const nats_test_user& user, const std::string& password) const {
    nats_security s;
    if (options_.secure) {
      s.user = user.name;
      s.password = password;
      s.ca_file = ca_file();
    }
    return s;
  }

  std::vector<std::string> server_environment() const {
    return {std::string(nats_node_user.password_variable) + "=" + node_password_,
            std::string(nats_payments_user.password_variable) + "=" + payments_password_,
            std::string(nats_reader_user.password_variable) + "=" + reader_password_};
  }

  static void run(const std::vector<std::string>& argv) {
    child_process p(argv);
    auto code = p.wait_exit(std::chrono::seconds(60));
    ASSERT_TRUE(code && *code == 0) << p.output();
  }

  /// A CA, and one certificate for every server (client and route TLS), valid for 127.0.0.1.
  void make_certificates() {
    auto d = tls_dir();
    ::mkdir(d.c_str(), 0700);
    const std::string openssl = "/usr/bin/openssl";
    ASSERT_NO_FATAL_FAILURE(
        run({openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-days", "2", "-subj", "/CN=flashsale test CA", "-keyout", d + "/ca-key.pem",
             "-out", d + "/ca.pem"}));
    ASSERT_NO_FATAL_FAILURE(run({openssl, "req", "-newkey", "ec", "-pkeyopt",
                                 "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=127.0.0.1",
                                 "-keyout", d + "/server-key.pem", "-out", d + "/server.csr"}));
    std::ofstream(d + "/server.ext") << "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                        "extendedKeyUsage=serverAuth,clientAuth\n";
    ASSERT_NO_FATAL_FAILURE(
        run({openssl, "x509", "-req", "-in", d + "/server.csr", "-CA", d + "/ca.pem", "-CAkey",
             d + "/ca-key.pem", "-CAcreateserial", "-days", "2", "-extfile", d + "/server.ext",
             "-out", d + "/server.pem"}));
  }

  /// Server i's config: what differs per deployment is written here, the accounts and users
  /// are the shipped file's (copied beside it: nats-server includes relative paths only).
  void write_config(int i, const std::string& path) {
    std::ostringstream c;
    c << "server_name: n" << i << "\n"
      << "listen: 127.0.0.1:" << client_ports_[i] << "\n"
      << "jetstream {\n  store_dir: \"" << root_ << "/nats-" << i << "\"\n"
      << (options_.sync_always ? "  sync_interval: always\n" : "") << "}\n";
    std::string tls;
    if (options_.secure) {
      auto d = tls_dir();
      tls = "tls {\n    cert_file: \"" + d + "/server.pem\"\n    key_file: \"" + d
            + "/server-key.pem\"\n    ca_file: \"" + d + "/ca.pem\"\n    timeout: 5\n  }\n";
      c << tls;
    }
    c << "cluster {\n  name: flashsale-test\n  listen: 127.0.0.1:" << route_ports_[i] << "\n";
    if (options_.secure)
      c << "  " << tls; // routes verify each other's certificate against the CA (mutual TLS)
    c << "  routes: [\n";
    for (std::size_t j = 0; j < route_ports_.size(); ++j)
      if (static_cast<int>(j) != i)
        c << "    \"nats-route://127.0.0.1:" << route_ports_[j] << "\"\n";
    c << "  ]\n}\n";
    if (options_.secure) {
      std::ifstream shipped(std::string(FLASHSALE_SOURCE_DIR)
                            + "/docs/ops/flashsale-accounts.conf");
      ASSERT_TRUE(shipped) << "docs/ops/flashsale-accounts.conf is missing";
      std::ofstream(root_ + "/flashsale-accounts.conf") << shipped.rdbuf();
      c << "include flashsale-accounts.conf\n";
    }
    std::ofstream(path) << c.str();
  }

  std::string root_;
  nats_cluster_options options_;
  std::vector<int> client_ports_, route_ports_;
  std::vector<std::unique_ptr<child_process>> servers_;
  std::string node_password_, payments_password_, reader_password_;
};

} // namespace flashsale::testing
