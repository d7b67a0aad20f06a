// Cluster mode's version check at connect, against real servers (each started here on free
// loopback ports, stopped by its PID): Debian 12's nats-server 2.9.10 is refused with a message
// naming it, its version and the reason; the >= 2.12 one is accepted; a new server whose
// cluster holds a 2.9.10 peer is refused too, naming the peer it announced in connect_urls; and
// `flashsale serve` in cluster mode on the old server exits non-zero saying why.
#include <signal.h>

#include <gtest/gtest.h>

#include "cluster/nats_link.hpp"
#include "cluster/server_version.hpp"
#include "tests/cluster/nats_cluster.hpp"
#include "tests/support/temp_dir.hpp"

using namespace flashsale;
using namespace flashsale::testing;
using std::chrono::seconds;

namespace {

/// Debian 12's nats-server (single-node mode's embedded one): 2.9.10.
std::string debian_nats_server() {
  return find_program("nats-server");
}

/// A plain nats-server (no JetStream needed to be probed), optionally routed to `routes`.
std::unique_ptr<child_process> start_server(const std::string& binary, int port, int route_port,
                                            const std::string& routes = "") {
  std::vector<std::string> argv{
      binary, "-a", "127.0.0.1", "-p", std::to_string(port), "-n", "s" + std::to_string(port)};
  if (route_port > 0)
    argv.insert(argv.end(), {"--cluster_name", "mixed", "--cluster",
                             "nats://127.0.0.1:" + std::to_string(route_port), "--routes", routes});
  auto p = std::make_unique<child_process>(argv);
  EXPECT_TRUE(eventually([&] { return accepts_connections(port); }, seconds(15))) << p->output();
  return p;
}

std::string refusal(int port) {
  cluster::nats_link_options o;
  o.urls = {"nats://127.0.0.1:" + std::to_string(port)};
  auto r = cluster::nats_link::connect(o);
  return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : "";
}

class ServerVersionCheck : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(debian_nats_server().empty()) << "apt-get install nats-server";
    ASSERT_EQ(::access(cluster_nats_server().c_str(), X_OK), 0)
        << cluster_nats_server() << ": run make deps";
  }
};

} // namespace

TEST_F(ServerVersionCheck, RefusesDebians2_9_10NamingItsVersionAndTheReason) {
  int port = free_port();
  auto old = start_server(debian_nats_server(), port, 0);
  auto probed = cluster::probe_server("127.0.0.1:" + std::to_string(port), 2000);
  ASSERT_TRUE(std::holds_alternative<cluster::server_info>(probed));
  ASSERT_EQ(std::get<cluster::server_info>(probed).version, "2.9.10")
      << "this test expects Debian 12's nats-server";
  auto why = refusal(port);
  for (auto word : {"127.0.0.1:" + std::to_string(port), std::string("2.9.10"),
                    std::string("2.12.0"), std::string("Nats-Expected-Last-Sequence")})
    EXPECT_NE(why.find(word), std::string::npos) << word << " in: " << why;
}

TEST_F(ServerVersionCheck, AcceptsTheBuildTreesServer) {
  int port = free_port();
  auto fresh = start_server(cluster_nats_server(), port, 0);
  EXPECT_EQ(refusal(port), "");
}

TEST_F(ServerVersionCheck, RefusesANewServerWhoseClusterHoldsAnOldPeer) {
  int new_port = free_port(), old_port = free_port();
  int new_route = free_port(), old_route = free_port();
  auto fresh = start_server(cluster_nats_server(), new_port, new_route,
                            "nats://127.0.0.1:" + std::to_string(old_route));
  auto old = start_server(debian_nats_server(), old_port, old_route,
                          "nats://127.0.0.1:" + std::to_string(new_route));
  // The route is up when the new server announces both servers to its clients.
  ASSERT_TRUE(eventually(
      [&] {
        auto r = cluster::probe_server("127.0.0.1:" + std::to_string(new_port), 1000);
        auto info = std::get_if<cluster::server_info>(&r);
        return info && info->connect_urls.size() == 2;
      },
      seconds(20)));
  auto why = refusal(new_port); // only the new server is named; its peer is found by the probe
  EXPECT_NE(why.find("127.0.0.1:" + std::to_string(old_port)), std::string::npos) << why;
  EXPECT_NE(why.find("2.9.10"), std::string::npos) << why;
}

TEST_F(ServerVersionCheck, ServeInClusterModeOnTheOldServerExitsSayingWhy) {
  temp_dir dir;
  int port = free_port();
  auto old = start_server(debian_nats_server(), port, 0);
  child_process node({FLASHSALE_BINARY, "serve", "--set", "http.port=0", "--set", "http.front=none",
                      "--set", "data_dir=" + dir.file("data"), "--set",
                      "nats.url=nats://127.0.0.1:" + std::to_string(port), "--set",
                      "cluster.enabled=true", "--set", "cluster.node_id=a"});
  auto code = node.wait_exit(seconds(60));
  ASSERT_TRUE(code) << node.output();
  EXPECT_NE(*code, 0);
  EXPECT_NE(node.output().find("is version 2.9.10"), std::string::npos) << node.output();
}
