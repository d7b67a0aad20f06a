// The layout cluster fault tests build (netns.hpp's example, run): three nats-servers routed
// to each other over the "nats" network, three node hosts each with a buyers link and a
// NATS link, and the test's client on both. Cutting node2 from NATS leaves it unable to
// reach any server while buyers still reach it and the other nodes keep their servers.
#include <httplib.h>
#include <signal.h>

#include "tests/netns/netns_fixture.hpp"
#include "tests/support/eventually.hpp"

namespace flashsale::testing {
namespace {

/// "s1>s1,s2,s3 ..." style: which of the servers `from` reaches on their client port.
std::string servers_reached(netns::topology& net, const std::string& from) {
  return net.at(from).run([&] {
    std::string reached;
    for (auto s : {"s1", "s2", "s3"})
      if (connects(net.at(s).address("nats"), 4222))
        reached += (reached.empty() ? "" : ",") + std::string(s);
    return from + ">" + (reached.empty() ? "-" : reached);
  });
}

TEST(NetnsExample, NodeCutFromNatsReachesNoServerWhileBuyersStillReachIt) {
  ASSERT_EQ(::geteuid(), 0u) << "network namespaces need root";
  netns::topology net;
  net.add_network("buyers");
  net.add_network("nats");
  for (auto s : {"s1", "s2", "s3"})
    net.add_host(s, {"nats"});
  for (auto n : {"node1", "node2", "node3"})
    net.add_host(n, {"buyers", "nats"});
  auto& client = net.add_host("client", {"buyers", "nats"});

  // Declared after the topology: stopped before it goes.
  std::vector<std::unique_ptr<child_process>> servers;
  for (auto s : {"s1", "s2", "s3"}) {
    std::string routes;
    for (auto peer : {"s1", "s2", "s3"})
      if (std::string(peer) != s)
        routes += std::string(routes.empty() ? "" : ",") + "nats://" + net.at(peer).address("nats")
                  + ":6222";
    auto& h = net.at(s);
    servers.push_back(
        h.spawn({netns::system_tool("nats-server"), "-a", h.address("nats"), "-p", "4222", "-m",
                 "8222", "-n", s, "--cluster_name", "netns", "--cluster",
                 "nats://" + h.address("nats") + ":6222", "--routes", routes}));
  }
  // Every server routed to both others: the cluster formed across the bridge.
  for (std::size_t i = 0; i < servers.size(); ++i) {
    auto address = net.at("s" + std::to_string(i + 1)).address("nats");
    EXPECT_TRUE(eventually(
        [&] {
          return client.run([&] {
            httplib::Client http(address, 8222);
            http.set_connection_timeout(std::chrono::seconds(1));
            auto res = http.Get("/routez");
            return res && res->body.find("\"num_routes\": 2") != std::string::npos;
          });
        },
        std::chrono::seconds(15)))
        << servers[i]->output();
  }
  int node2_listener = net.at("node2").run([] { return listen_everywhere(probe_port); });
  ASSERT_GE(node2_listener, 0);

  EXPECT_EQ(servers_reached(net, "node2"), "node2>s1,s2,s3");
  net.cut("node2", "nats");
  EXPECT_EQ(servers_reached(net, "node2"), "node2>-");
  EXPECT_EQ(servers_reached(net, "node1"), "node1>s1,s2,s3");
  EXPECT_TRUE(client.run([&] { return connects(net.at("node2").address("buyers"), probe_port); }))
      << "buyers must still reach node2";

  net.restore("node2", "nats");
  EXPECT_EQ(servers_reached(net, "node2"), "node2>s1,s2,s3");
  ::close(node2_listener);
  for (auto& server : servers) {
    server->signal(SIGTERM);
    EXPECT_TRUE(server->wait_exit(std::chrono::seconds(10)));
  }
}

} // namespace
} // namespace flashsale::testing
