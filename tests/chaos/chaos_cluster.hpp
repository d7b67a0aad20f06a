// The cluster a chaos run drives, each process in a network namespace of its own
// (tests/support/netns.hpp): nats-servers s1..s3 on the "nats" network, nodes node1..node3 with
// a "buyers" link (HTTP on :8080) and a "nats" link, and the test's client on both. Every
// process is started, signalled, killed and restarted by its PID from the thread that owns
// this object (the test's: a child dies with the thread that forked it). Destroyed: nodes
// stopped, then servers, then the namespaces, even after a failure.
//
// Black-box: a node is `flashsale serve` with `--set` keys (cluster.*, nats.url, http.*),
// a server is `nats-server` with its flags; nothing else is known about them. Credentials
// and TLS for the NATS link are extra `--set` keys and server flags in cluster_options (the
// fixture grows them without changing the harness).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/netns.hpp"

namespace flashsale::testing::chaos {

struct cluster_options {
  std::string flashsale;   ///< the `flashsale` binary
  std::string nats_server; ///< nats-server >= 2.12 (see find_nats_server)
  std::string data_root;   ///< a directory for the servers' stores and the nodes' data dirs
  int partitions = 6;
  std::int64_t lease_ms = 1500;
  std::string admin_token = "chaos-admin";
  std::string webhook_secret = "chaos-webhook-secret";
  /// Added to every node's command line: {"nats.user=...", "nats.tls.ca_file=..."}.
  std::vector<std::string> node_settings;
  /// Added to every nats-server's command line.
  std::vector<std::string> server_flags;
};

/// nats-server for cluster mode: $CHAOS_NATS_SERVER, else $CLUSTER_NATS_SERVER, else the build
/// tree's copy (build/deps/nats/root/usr/sbin), else "" (the caller fails naming them).
std::string find_nats_server();

class chaos_cluster {
public:
  static constexpr int http_port = 8080;
  static constexpr int nats_port = 4222;

  explicit chaos_cluster(cluster_options o);
  ~chaos_cluster();
  chaos_cluster(const chaos_cluster&) = delete;
  chaos_cluster& operator=(const chaos_cluster&) = delete;

  netns::topology& net() { return net_; }
  netns::host& client() { return net_.at("client"); }
  const std::vector<std::string>& nodes() const { return nodes_; }
  const std::vector<std::string>& servers() const { return servers_; }
  const cluster_options& options() const { return o_; }
  /// Where buyers reach `node` (its buyers address).
  std::string address(const std::string& node) const;
  /// "nats://<s1>:4222,nats://<s2>:4222,..." on the nats network.
  std::string nats_urls() const;

  /// Starts a server or a node (again, on the same store or data dir). A server is ready when
  /// it says so; a node when it prints its banner, unless `wait` is false (the caller checks
  /// later with wait_started).
  void start(const std::string& name, bool wait = true);
  /// Waits for the banner of a node started without waiting; false on timeout or exit.
  bool wait_started(const std::string& name, std::chrono::milliseconds timeout);
  /// SIGKILL and reap.
  void kill(const std::string& name);
  void pause(const std::string& name);  ///< SIGSTOP
  void resume(const std::string& name); ///< SIGCONT
  bool running(const std::string& name) const;
  bool paused(const std::string& name) const;
  /// Processes that exited by themselves (not killed or stopped here), each reported once as
  /// "<name> exited <code>: <its last lines>" and forgotten (start() starts it again).
  std::vector<std::string> take_crashes();
  /// Everything `name` printed, this start and the ones before.
  std::string output(const std::string& name) const;
  /// SIGTERM to the nodes, then the servers; waits for each.
  void stop_all();

private:
  std::vector<std::string> command(const std::string& name) const;

  cluster_options o_;
  netns::topology net_; // declared before the processes: goes after them
  std::vector<std::string> nodes_{"node1", "node2", "node3"};
  std::vector<std::string> servers_{"s1", "s2", "s3"};
  std::map<std::string, std::unique_ptr<child_process>> processes_;
  std::map<std::string, std::string> earlier_output_; ///< of the starts before this one
  std::map<std::string, bool> paused_;
};

} // namespace flashsale::testing::chaos
