// The nemesis primitives against the real kernel (root only): each fault is in effect when
// its call returns (the very next probe sees it), is idempotent, touches only what it names,
// and heals back to a network where everyone reaches everyone.
#include <atomic>
#include <regex>
#include <thread>

#include <nats/nats.h>

#include "tests/netns/netns_fixture.hpp"
#include "tests/support/eventually.hpp"

namespace flashsale::testing {
namespace {

using clock_type = std::chrono::steady_clock;

long long ms_since(clock_type::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t).count();
}

/// How often the kernel saw h's end of its link on `network` gain or lose carrier.
int carrier_changes(const netns::host& h, const std::string& network) {
  auto out = netns::ip_query(h.netns(), {"-j", "-s", "-s", "link", "show", "dev", network});
  std::smatch m;
  if (!std::regex_search(out, m, std::regex("\"carrier_changes\":(\\d+)")))
    return -1;
  return std::stoi(m[1]);
}

TEST_F(NetnsTest, CutDropsOneLinkOfAHostUntilRestored) {
  auto started = clock_type::now();
  net_->cut("node", "nats");
  auto cut_ms = ms_since(started);
  // In effect on return: the first probes after it already fail.
  EXPECT_EQ(reach("nats"), "client>s1 node>- s1>client");
  EXPECT_EQ(reach("buyers"), everyone_on_buyers) << "node's other link must stay up";
  EXPECT_FALSE(net_->link_up("node", "nats"));
  EXPECT_TRUE(net_->link_up("node", "buyers"));
  EXPECT_EQ(net_->faults(), "cut node/nats");

  net_->cut("node", "nats"); // idempotent
  EXPECT_EQ(net_->faults(), "cut node/nats");

  started = clock_type::now();
  net_->restore("node", "nats");
  auto restore_ms = ms_since(started);
  EXPECT_EQ(reach("nats"), everyone_on_nats);
  EXPECT_EQ(net_->faults(), "");
  net_->restore("node", "nats"); // idempotent
  EXPECT_EQ(reach("nats"), everyone_on_nats);
  EXPECT_LT(cut_ms, 2000);
  EXPECT_LT(restore_ms, 2000);
  std::cout << "cut took " << cut_ms << " ms, restore " << restore_ms << " ms\n";
}

TEST_F(NetnsTest, NatsConnectionStallsWhileItsServerIsCutAndRecoversWhenRestored) {
  auto s1 = host("s1").address("nats");
  auto server = host("s1").spawn({netns::system_tool("nats-server"), "-a", s1, "-p", "4222"});
  ASSERT_TRUE(server->wait_for_line(
      [](const std::string& l) { return l.find("Server is ready") != std::string::npos; },
      std::chrono::seconds(15)))
      << server->output();
  ASSERT_EQ(host("client").run([] { return nats_Open(-1); }), NATS_OK);
  natsConnection* nc = nullptr;
  auto url = "nats://" + s1 + ":4222";
  ASSERT_EQ(host("client").run([&] { return natsConnection_ConnectTo(&nc, url.c_str()); }),
            NATS_OK);
  EXPECT_EQ(natsConnection_FlushTimeout(nc, 2000), NATS_OK);

  net_->cut("s1", "nats");
  // Packets vanish: no reset, no error, the round trip just never completes.
  EXPECT_EQ(natsConnection_FlushTimeout(nc, 500), NATS_TIMEOUT);
  EXPECT_EQ(natsConnection_Status(nc), NATS_CONN_STATUS_CONNECTED);

  net_->restore("s1", "nats");
  // TCP retransmits on its own backoff: the same connection gets through again.
  EXPECT_TRUE(eventually([&] { return natsConnection_FlushTimeout(nc, 1000) == NATS_OK; },
                         std::chrono::seconds(15)));
  natsConnection_Destroy(nc);
  EXPECT_EQ(nats_CloseAndWait(10000), NATS_OK);
  server->signal(SIGTERM);
  EXPECT_TRUE(server->wait_exit(std::chrono::seconds(10)));
}

/// The DROP rules in h's own namespace: "198.18.7.1 198.18.8.3" (the sources it drops).
std::string drops(const netns::host& h) {
  auto table = netns::run_command({netns::system_tool("iptables-save")}, h.netns()).output;
  std::string sources;
  std::regex rule("-A INPUT -s (\\S+)/32 -j DROP");
  for (std::sregex_iterator it(table.begin(), table.end(), rule), end; it != end; ++it)
    sources += (sources.empty() ? "" : " ") + (*it)[1].str();
  return sources;
}

TEST_F(NetnsTest, IsolateDropsTrafficBothWaysBetweenThoseHostsOnlyUntilHealed) {
  net_->isolate("s1", {"client"});
  EXPECT_EQ(reach("nats"), "client>node node>client,s1 s1>node");
  // Each side drops what arrives from the other, so neither direction gets through even for
  // traffic that needs no answer.
  EXPECT_EQ(drops(host("s1")),
            host("client").address("buyers") + " " + host("client").address("nats"));
  EXPECT_EQ(drops(host("client")), host("s1").address("nats"));
  EXPECT_EQ(drops(host("node")), "");
  EXPECT_EQ(reach("buyers"), everyone_on_buyers);
  EXPECT_EQ(net_->faults(), "blocked client|s1");
  net_->isolate("s1", {"client"}); // idempotent
  EXPECT_EQ(net_->faults(), "blocked client|s1");

  net_->isolate("node", {"s1", "client"}); // every network of the peers: buyers too
  EXPECT_EQ(reach("nats"), "client>- node>- s1>-");
  EXPECT_EQ(reach("buyers"), "client>- node>-");

  net_->heal("node", {"s1", "client"});
  EXPECT_EQ(reach("nats"), "client>node node>client,s1 s1>node");
  net_->heal("s1", {"client"});
  net_->heal("s1", {"client"}); // idempotent
  EXPECT_EQ(reach("nats"), everyone_on_nats);
  EXPECT_EQ(net_->faults(), "");
  EXPECT_EQ(drops(host("s1")) + drops(host("client")), "");
}

TEST_F(NetnsTest, SplitCutsEveryPairAcrossGroupsAndHealLiftsIt) {
  net_->split({{"s1", "node"}, {"client"}}); // 2|1
  EXPECT_EQ(reach("nats"), "client>- node>s1 s1>node");
  EXPECT_EQ(reach("buyers"), "client>- node>-");
  EXPECT_EQ(net_->faults(), "blocked client|node client|s1");

  net_->split({{"s1"}, {"node", "client"}}); // a second split adds to the first
  EXPECT_EQ(reach("nats"), "client>- node>- s1>-");

  net_->heal();
  EXPECT_EQ(reach("nats"), everyone_on_nats);
  EXPECT_EQ(reach("buyers"), everyone_on_buyers);
  EXPECT_EQ(net_->faults(), "");
}

TEST_F(NetnsTest, FlapTogglesTheLinkTheGivenTimesAndEndsRestored) {
  int before = carrier_changes(host("node"), "nats");
  ASSERT_GE(before, 0);
  auto started = clock_type::now();
  net_->flap("node", "nats", 3, std::chrono::milliseconds(100), std::chrono::milliseconds(100));
  auto took = ms_since(started);
  EXPECT_EQ(carrier_changes(host("node"), "nats") - before, 6); // 3 x (lost, regained)
  EXPECT_GE(took, 500);                                         // 3 down + 2 up periods
  EXPECT_TRUE(net_->link_up("node", "nats"));
  EXPECT_EQ(net_->faults(), "");
  EXPECT_EQ(reach("nats"), everyone_on_nats);
}

TEST_F(NetnsTest, HealAllLiftsEveryFaultAndStopsARunningFlap) {
  std::atomic<bool> flapping{true};
  std::thread nemesis([&] {
    net_->flap("s1", "nats", 1000, std::chrono::milliseconds(50), std::chrono::milliseconds(50));
    flapping = false;
  });
  net_->cut("node", "buyers");
  net_->isolate("client", {"s1"});
  ASSERT_TRUE(eventually([&] { return !net_->link_up("s1", "nats"); }, std::chrono::seconds(5)));

  auto started = clock_type::now();
  net_->heal_all();
  EXPECT_TRUE(eventually([&] { return !flapping; }, std::chrono::seconds(2)))
      << "heal_all() did not stop the flap";
  nemesis.join();
  std::cout << "heal_all and the flap's end took " << ms_since(started) << " ms\n";
  EXPECT_EQ(net_->faults(), "");
  EXPECT_EQ(reach("nats"), everyone_on_nats);
  EXPECT_EQ(reach("buyers"), everyone_on_buyers);
}

TEST_F(NetnsTest, FaultsOnWhatDoesNotExistThrowAndChangeNothing) {
  EXPECT_THROW(net_->cut("s1", "buyers"), netns::error); // s1 has no buyers link
  EXPECT_THROW(net_->cut("nobody", "nats"), netns::error);
  EXPECT_THROW(net_->isolate("s1", {"nobody"}), netns::error);
  EXPECT_THROW(net_->add_host("Bad_Name", {"nats"}), netns::error);
  EXPECT_THROW(net_->add_host("extra", {"no-such-net"}), netns::error);
  EXPECT_EQ(net_->faults(), "");
  EXPECT_EQ(reach("nats"), everyone_on_nats);
}

} // namespace
} // namespace flashsale::testing
