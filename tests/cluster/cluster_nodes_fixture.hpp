// Cluster nodes end to end: three (or more) `flashsale serve` processes with cluster.enabled on
// a real three-server JetStream cluster (each started by the test, stopped or killed by its
// PID), and the calls and views the node-level cluster tests share.
#pragma once

#include <httplib.h>
#include <signal.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cluster/partitioning.hpp"
#include "tests/cluster/cluster_fixture.hpp"
#include "tests/support/serve_process.hpp"

namespace flashsale::testing {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

inline constexpr int partitions =
    6; ///< the default; a test may set ClusterNodesTest::partition_count

struct cluster_member {
  std::string name;
  std::unique_ptr<child_process> process;
  int port = -1;
};

struct answer {
  int status = 0; ///< 0 = no answer (connection refused or cut)
  json body;
  std::string retry_after; ///< the Retry-After header, when there is one
  std::string text;        ///< the body as it came
};

/// One call to a node at host:port, as a buyer or the admin makes it (admin token "tok").
inline answer call_at(const std::string& host, int port, const std::string& method,
                      const std::string& path, const std::string& body = "",
                      int read_timeout_s = 10) {
  httplib::Client c(host, port);
  c.set_connection_timeout(2);
  c.set_read_timeout(read_timeout_s);
  httplib::Headers h{{"Authorization", "Bearer tok"}};
  auto r = method == "GET"   ? c.Get(path.c_str(), h)
           : method == "PUT" ? c.Put(path.c_str(), h, body, "application/json")
                             : c.Post(path.c_str(), h, body, "application/json");
  if (!r)
    return {};
  return {r->status, json::parse(r->body, nullptr, false), r->get_header_value("Retry-After"),
          r->body};
}

inline answer call(int port, const std::string& method, const std::string& path,
                   const std::string& body = "") {
  return call_at("127.0.0.1", port, method, path, body);
}

class ClusterNodesTest : public ClusterTest {
protected:
  // Durability tests: what a server acknowledges is on a majority's disks, as in production.
  ClusterNodesTest() { cluster_options.sync_always = true; }

  void start_member(const std::string& name) {
    cluster_member m;
    ASSERT_NO_FATAL_FAILURE(launch(name, m));
    members.push_back(std::move(m));
  }

  /// Starts member `name` (again, on its data dir, when it ran before) into `m`.
  void launch(const std::string& name, cluster_member& m) {
    spawn(name, m);
    ASSERT_NO_FATAL_FAILURE(await_port(m));
  }

  /// The process of member `name`, started without waiting for it to listen (several start
  /// together this way; from this thread: a child dies with the thread that started it).
  void spawn(const std::string& name, cluster_member& m) {
    m.name = name;
    std::vector<std::string> argv{
        FLASHSALE_BINARY, "serve",
        "--set",          "http.port=0",
        "--set",          "http.front=none",
        "--set",          "data_dir=" + dir.file("node-" + name),
        "--set",          "cluster.enabled=true",
        "--set",          "cluster.node_id=" + name,
        "--set",          "cluster.partitions=" + std::to_string(partition_count),
        "--set",          "cluster.lease_ms=" + std::to_string(lease_ms),
        "--set",          "store.sync=normal",
        "--set",          "payments.webhook_secret=" + webhook_secret};
    for (auto& a : cluster->nats_set_args())
      argv.push_back(a);
    m.process = std::make_unique<child_process>(
        argv, std::vector<std::string>{"FLASHSALE_ADMIN_TOKEN=tok"});
  }

  void await_port(cluster_member& m) {
    m.port = listening_port(*m.process, seconds(60));
    ASSERT_GT(m.port, 0) << m.process->output();
  }

  /// Partition -> the member serving it, from each member's /health; complete only when
  /// every partition is served by exactly one live member.
  /// (`paused`: a member not to ask, its HTTP would answer only when it runs again.)
  std::map<int, std::size_t> serving(std::optional<std::size_t> paused = std::nullopt) {
    std::map<int, std::size_t> by;
    for (std::size_t i = 0; i < members.size(); ++i) {
      if (!members[i].process || paused == i)
        continue;
      auto h = call(members[i].port, "GET", "/health");
      if (h.status != 200 || !h.body.contains("cluster"))
        continue;
      for (auto& p : h.body["cluster"]["partitions"])
        if (!by.emplace(p.get<int>(), i).second)
          return {}; // two members claim one partition: not settled
    }
    return by;
  }

  /// Every partition served, the live members' shares even (what the lease plan converges to).
  bool settled() {
    auto by = serving();
    std::map<std::size_t, int> shares;
    for (auto& [p, m] : by)
      ++shares[m];
    std::size_t live = 0;
    for (auto& m : members)
      live += m.process ? 1 : 0;
    if (by.size() != static_cast<std::size_t>(partition_count) || shares.size() != live)
      return false;
    for (auto& [m, n] : shares)
      if (n < partition_count / static_cast<int>(live))
        return false;
    return true;
  }

  /// A product id whose partition `member` serves.
  std::string product_served_by(std::size_t member, const std::string& stem) {
    auto by = serving();
    for (int i = 0; i < 1000; ++i) {
      auto id = stem + std::to_string(i);
      if (auto it = by.find(cluster::partition_of(id, partition_count));
          it != by.end() && it->second == member)
        return id;
    }
    ADD_FAILURE() << "member " << member << " serves no partition";
    return stem;
  }

  /// A product id in partition `p`.
  std::string product_in(int p, const std::string& stem) {
    for (int i = 0;; ++i) {
      auto id = stem + std::to_string(i);
      if (cluster::partition_of(id, partition_count) == p)
        return id;
    }
  }

  void define(const std::string& id, int stock, int hold_seconds) {
    // Through member 0 whatever the owner: the definition is forwarded. A 503 is retried, as
    // any client does after Retry-After (a partition out of its window for a moment on a
    // loaded machine).
    answer r;
    eventually(
        [&] {
          r = call(members[0].port, "PUT", "/products/" + id,
                   json{{"name", id}, {"stock", stock}, {"hold_seconds", hold_seconds}}.dump());
          return r.status != 503;
        },
        seconds(20));
    ASSERT_TRUE(r.status == 201 || r.status == 200) << r.status << " " << r.body.dump();
  }

  void TearDown() override {
    for (auto& m : members)
      if (m.process) {
        if (HasFailure() || std::getenv("SHOW_CLUSTER_NODE_LOGS"))
          std::cout << "---- node " << m.name << " ----\n" << m.process->output();
        m.process->signal(SIGTERM);
        m.process->wait_exit(seconds(30));
      }
  }

  std::vector<cluster_member> members;
  int partition_count = partitions;
  /// The same on every node: a webhook reaching any node is checked there, then forwarded.
  std::string webhook_secret = "whsec-cluster-test";
  std::int64_t lease_ms = 2000; // serving window 1 s: room for an fsync on a busy machine
};

inline std::string order_body(const std::string& user, const std::string& product) {
  return json{{"user_id", user}, {"items", {{{"product_id", product}, {"quantity", 1}}}}}.dump();
}

} // namespace flashsale::testing
