// Turned away at the edge, in cluster mode: each member's HAProxy holds every sold-out product
// of the cluster, whichever member owns it (its map follows the availability every owner
// publishes: cluster/availability_board). When a partition moves, its sold-out products stay
// in every edge. `flashsale serve` members with their real HAProxy on a real three-server
// JetStream cluster; every process stopped by PID.
#include <httplib.h>
#include <signal.h>

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cluster/partitioning.hpp"
#include "node/haproxy_cli.hpp"
#include "tests/cluster/cluster_fixture.hpp"
#include "tests/node/edge_fixture.hpp"
#include "tests/support/serve_process.hpp"

namespace {

using namespace flashsale::testing;
using json = nlohmann::json;
using std::chrono::seconds;

constexpr int partition_count = 4;

struct member {
  std::string name;
  std::string data_dir;
  std::unique_ptr<child_process> process;
  int port = -1;
};

class EdgeSoldOutCluster : public ClusterTest {
protected:
  member& start_member(const std::string& name) {
    auto& m = members_[name];
    m.name = name;
    m.data_dir = dir.file("node-" + name);
    std::vector<std::string> argv{
        FLASHSALE_BINARY, "serve",
        "--set",          "http.port=0",
        "--set",          "data_dir=" + m.data_dir,
        "--set",          "cluster.enabled=true",
        "--set",          "cluster.node_id=" + name,
        "--set",          "cluster.partitions=" + std::to_string(partition_count),
        "--set",          "cluster.lease_ms=1500",
        "--set",          "store.sync=normal"};
    for (auto& a : cluster->nats_set_args())
      argv.push_back(a);
    m.process = std::make_unique<child_process>(
        argv, std::vector<std::string>{"FLASHSALE_ADMIN_TOKEN=tok"});
    m.port = listening_port(*m.process, seconds(60));
    EXPECT_GT(m.port, 0) << m.process->output();
    return m;
  }

  void TearDown() override {
    for (auto& [name, m] : members_)
      if (m.process) {
        if (HasFailure())
          std::cout << "---- node " << name << " ----\n" << m.process->output();
        m.process->signal(SIGTERM);
        m.process->wait_exit(seconds(30));
      }
  }

  httplib::Result call(const member& m, const std::string& method, const std::string& path,
                       const std::string& body = "") {
    httplib::Client c("127.0.0.1", m.port);
    c.set_connection_timeout(2);
    c.set_read_timeout(10);
    httplib::Headers h{{"Authorization", "Bearer tok"}};
    return method == "GET"   ? c.Get(path.c_str(), h)
           : method == "PUT" ? c.Put(path.c_str(), h, body, "application/json")
                             : c.Post(path.c_str(), h, body, "application/json");
  }

  /// The partitions `m` serves now, from its /health.
  std::vector<int> served_by(const member& m) {
    auto r = call(m, "GET", "/health");
    if (!r || r->status != 200)
      return {};
    auto j = json::parse(r->body, nullptr, false);
    if (!j.is_object() || !j.contains("cluster"))
      return {};
    return j["cluster"]["partitions"].get<std::vector<int>>();
  }

  bool edge_holds(const member& m, const std::string& product) {
    auto shown = flashsale::haproxy_command(m.data_dir + "/haproxy.sock",
                                            "show map " + m.data_dir + "/haproxy-sold-out.map",
                                            std::chrono::seconds(2));
    return shown && shown->find(" " + product + " 0") != std::string::npos;
  }

  double node_orders(const member& m) {
    auto r = call(m, "GET", "/metrics");
    return r ? metric(r->body, "flashsale_http_requests_total",
                      {R"(method="POST")", R"(route="/orders")"})
             : -1;
  }

  int buy(const member& m, const std::string& product, const std::string& user) {
    auto r = call(m, "POST", "/orders",
                  json{{"user_id", user}, {"product_id", product}, {"quantity", 1}}.dump());
    return r ? r->status : 0;
  }

  std::map<std::string, member> members_;
};

TEST_F(EdgeSoldOutCluster, EveryEdgeHoldsEverySoldOutProductWhicheverMemberOwnsIt) {
  auto& a = start_member("a");
  ASSERT_GT(a.port, 0);
  ASSERT_TRUE(eventually([&] { return served_by(a).size() == partition_count; }, seconds(40)));
  // One product per partition, each sold out through a, which serves them all.
  std::map<int, std::string> product_of;
  for (int i = 0; product_of.size() < partition_count && i < 1000; ++i) {
    auto id = "p-" + std::to_string(i);
    product_of.emplace(flashsale::cluster::partition_of(id, partition_count), id);
  }
  for (auto& [p, id] : product_of) {
    auto r = call(a, "PUT", "/products/" + id, json{{"name", id}, {"stock", 1}}.dump());
    ASSERT_TRUE(r && r->status == 201) << (r ? r->body : "no answer");
    ASSERT_EQ(buy(a, id, "first"), 201);
  }
  for (auto& [p, id] : product_of)
    ASSERT_TRUE(eventually([&] { return edge_holds(a, id); }, seconds(5))) << id;
  double before = node_orders(a);
  for (auto& [p, id] : product_of)
    EXPECT_EQ(buy(a, id, "turned-away"), 409);
  EXPECT_EQ(node_orders(a), before) << "a's edge answered for every partition it serves";

  // b joins and takes its share. Both edges hold every product, the ones b now owns and the
  // ones a kept: no buyer of a sold-out product reaches either node.
  auto& b = start_member("b");
  ASSERT_GT(b.port, 0);
  ASSERT_TRUE(eventually(
      [&] {
        auto on_a = served_by(a), on_b = served_by(b);
        return !on_b.empty() && on_a.size() + on_b.size() == partition_count;
      },
      seconds(60)));
  auto on_b = served_by(b);
  ASSERT_FALSE(on_b.empty());
  for (auto& [p, id] : product_of) {
    bool moved = std::find(on_b.begin(), on_b.end(), p) != on_b.end();
    for (auto* m : {&a, &b}) {
      EXPECT_TRUE(eventually([&] { return edge_holds(*m, id); }, seconds(10)))
          << id << " (partition " << p << (moved ? ", moved to b" : ", kept by a")
          << ") is missing from " << m->name << "'s edge";
      double orders_before = node_orders(*m);
      EXPECT_EQ(buy(*m, id, "at-" + m->name), 409);
      EXPECT_EQ(node_orders(*m), orders_before) << id << ": " << m->name << "'s edge answers";
    }
  }
}

} // namespace
