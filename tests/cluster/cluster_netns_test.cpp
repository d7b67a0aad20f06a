// A node cut from NATS while its buyers still reach it (issue 21): three nats-servers and three
// `flashsale serve` nodes, each in a network namespace of its own, each node with a buyers
// link and a NATS link (tests/support/netns.hpp). With node2's NATS link cut, node2 must stop
// acknowledging anything for its partitions, reads included, before another node is even
// assigned them: its last 2xx for a partition completes before the placement bucket records
// the new owner (and so before that owner's claim), after which node2 answers 503. The others
// take its partitions over and sell; once the link is back node2 rejoins and every partition
// is served again. (No TLS here: the secured cluster is tested on loopback; these addresses
// are the namespaces'.)
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "cluster/partitioning.hpp"
#include "tests/cluster/cluster_nodes_fixture.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/netns.hpp"
#include "tests/support/temp_dir.hpp"

using namespace flashsale;
using namespace flashsale::testing;
namespace {

constexpr int cluster_partitions = 6;
constexpr int lease_ms = 2000;
constexpr int http_port = 8080;

std::int64_t unix_ms() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// From the calling thread's namespace (the client host's).
answer http_call(const std::string& host, const std::string& method, const std::string& path,
                 const std::string& body = "") {
  return call_at(host, http_port, method, path, body, 5);
}

class ClusterNetnsTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "network namespaces need root";
    net.add_network("buyers");
    net.add_network("nats");
    for (auto s : {"s1", "s2", "s3"})
      net.add_host(s, {"nats"});
    for (auto n : {"node1", "node2", "node3"})
      net.add_host(n, {"buyers", "nats"});
    net.add_host("client", {"buyers", "nats"});
    std::string urls;
    for (auto s : {"s1", "s2", "s3"})
      urls +=
          (urls.empty() ? "" : ",") + std::string("nats://") + net.at(s).address("nats") + ":4222";
    for (auto s : {"s1", "s2", "s3"}) {
      std::string routes;
      for (auto peer : {"s1", "s2", "s3"})
        if (std::string(peer) != s)
          routes += (routes.empty() ? "" : ",") + std::string("nats://")
                    + net.at(peer).address("nats") + ":6222";
      auto& h = net.at(s);
      processes.push_back(
          h.spawn({cluster_nats_server(), "-js", "-a", h.address("nats"), "-p", "4222", "-sd",
                   dir.file(s), "-n", s, "--cluster_name", "netns", "--cluster",
                   "nats://" + h.address("nats") + ":6222", "--routes", routes}));
    }
    for (auto n : {"node1", "node2", "node3"}) {
      auto& h = net.at(n);
      processes.push_back(
          h.spawn({FLASHSALE_BINARY, "serve",
                   "--set",          "http.host=" + h.address("buyers"),
                   "--set",          "http.port=" + std::to_string(http_port),
                   "--set",          "http.front=none",
                   "--set",          "data_dir=" + dir.file(n),
                   "--set",          "nats.url=" + urls,
                   "--set",          "cluster.enabled=true",
                   "--set",          std::string("cluster.node_id=") + n,
                   "--set",          "cluster.partitions=" + std::to_string(cluster_partitions),
                   "--set",          "cluster.lease_ms=" + std::to_string(lease_ms)},
                  {"FLASHSALE_ADMIN_TOKEN=tok"}));
    }
    ASSERT_TRUE(eventually([&] { return served().size() == cluster_partitions; }, seconds(60)))
        << "the cluster never served every partition";
  }

  void TearDown() override {
    net.heal_all();
    if (HasFailure())
      for (auto& p : processes)
        std::cout << "----\n" << p->output();
    for (auto it = processes.rbegin(); it != processes.rend(); ++it) { // nodes first
      (*it)->signal(SIGTERM);
      (*it)->wait_exit(seconds(30));
    }
    processes.clear();
  }

  /// Partition -> node serving it, from every node's /health (through the buyers network).
  std::map<int, std::string> served(const std::string& skip = "") {
    return net.at("client").run([&] {
      std::map<int, std::string> by;
      for (auto n : {"node1", "node2", "node3"}) {
        if (n == skip)
          continue;
        auto h = http_call(net.at(n).address("buyers"), "GET", "/health");
        if (h.status != 200 || !h.body.contains("cluster"))
          continue;
        for (auto& p : h.body["cluster"]["partitions"])
          by.emplace(p.get<int>(), n);
      }
      return by;
    });
  }

  std::string product_in(int p) {
    for (int i = 0;; ++i)
      if (auto id = "cut-" + std::to_string(i); cluster::partition_of(id, cluster_partitions) == p)
        return id;
  }

  netns::topology net; // first: destroyed last, after every process in it
  temp_dir dir;
  std::vector<std::unique_ptr<child_process>> processes;
};

} // namespace

TEST_F(ClusterNetnsTest, ANodeCutFromNatsFallsSilentBeforeItsPartitionsAreReassigned) {
  auto before = served();
  std::vector<int> cut_partitions;
  for (auto& [p, n] : before)
    if (n == "node2")
      cut_partitions.push_back(p);
  ASSERT_FALSE(cut_partitions.empty()) << "node2 serves nothing";
  std::map<int, std::string> products;
  auto node1 = net.at("node1").address("buyers"), node2 = net.at("node2").address("buyers");
  for (int p : cut_partitions) {
    products[p] = product_in(p);
    auto r = net.at("client").run([&] {
      return http_call(node1, "PUT", "/products/" + products[p],
                       json{{"name", products[p]}, {"stock", 100000}}.dump());
    });
    ASSERT_EQ(r.status, 201) << r.body.dump();
  }

  // Buyers at node2 for its own partitions: a read and an order, over and over; the unix time
  // each 2xx completed.
  std::mutex mutex;
  std::map<int, std::int64_t> last_2xx;       // partition -> unix ms of node2's last 2xx
  std::map<int, std::map<int, int>> statuses; // partition -> status -> count after the cut
  std::atomic<bool> done{false}, cut{false};
  std::vector<std::thread> buyers; // one per partition: a slow answer on one delays no other
  for (int p : cut_partitions)
    buyers.emplace_back([&, p] {
      auto inside = net.at("client").enter();
      auto record = [&](const answer& r) {
        auto now = unix_ms(); // when this answer completed
        std::lock_guard lock(mutex);
        if (r.status >= 200 && r.status < 300)
          last_2xx[p] = now;
        if (cut)
          ++statuses[p][r.status];
      };
      for (int i = 0; !done; ++i) {
        record(http_call(node2, "GET", "/products/" + products[p]));
        record(http_call(node2, "POST", "/orders",
                         json{{"user_id", "u" + std::to_string(p) + "-" + std::to_string(i)},
                              {"product_id", products[p]},
                              {"quantity", 1}}
                             .dump()));
        std::this_thread::sleep_for(milliseconds(20));
      }
    });
  std::this_thread::sleep_for(milliseconds(500)); // answered while connected
  auto cut_at = unix_ms();
  net.cut("node2", "nats");
  cut = true;
  // The others take node2's partitions over (node2 itself is not asked: it can no longer know).
  ASSERT_TRUE(eventually(
      [&] {
        auto by = served("node2");
        for (int p : cut_partitions)
          if (!by.count(p))
            return false;
        return true;
      },
      seconds(30)))
      << "node2's partitions were never taken over";
  std::this_thread::sleep_for(seconds(2)); // node2 keeps being asked meanwhile
  done = true;
  for (auto& t : buyers)
    t.join();

  // When the bucket recorded each new owner (its clock: the servers run on this machine).
  auto status = net.at("client").exec([&] {
    std::vector<std::string> argv{FLASHSALE_BINARY, "cluster", "status", "--json", "--nats"};
    std::string urls;
    for (auto s : {"s1", "s2", "s3"})
      urls +=
          (urls.empty() ? "" : ",") + std::string("nats://") + net.at(s).address("nats") + ":4222";
    argv.push_back(urls);
    return argv;
  }());
  auto view = json::parse(status.output, nullptr, false);
  ASSERT_TRUE(view.contains("leases")) << status.output;
  for (int p : cut_partitions) {
    auto& lease = view["leases"][static_cast<std::size_t>(p)];
    ASSERT_NE(lease["owner"], "node2") << lease.dump();
    auto reassigned = lease["taken_ms"].get<std::int64_t>();
    std::cout << "partition " << p << ": node2's last 2xx " << (last_2xx[p] - cut_at)
              << " ms after the cut, reassigned to " << lease["owner"].get<std::string>() << " "
              << (reassigned - cut_at) << " ms after it; node2 after the cut:";
    for (auto& [s, n] : statuses[p])
      std::cout << " " << s << "x" << n;
    std::cout << "\n";
    EXPECT_LT(last_2xx[p], reassigned)
        << "node2 acknowledged after partition " << p << " had another owner";
    EXPECT_LE(last_2xx[p] - cut_at, lease_ms / 2 + 500) << "node2 answered too long after the cut";
    EXPECT_GT(statuses[p][503], 0) << "node2 told its buyers to retry";
    for (auto& [s, n] : statuses[p])
      EXPECT_TRUE(s == 503 || (s >= 200 && s < 300)) << s << " x" << n;
  }
  // Healed: node2 is back, and every partition is served by one node again.
  net.restore("node2", "nats");
  EXPECT_TRUE(eventually([&] { return served().size() == cluster_partitions; }, seconds(30)));
}
