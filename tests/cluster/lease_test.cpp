// Partition leases against a real three-server JetStream cluster: even shares, one owner per
// partition, hand-over on leave and join, take-over from a SIGKILLed member within 5 s, and a
// paused owner fenced out by the partition log after its lease moved.
#include <signal.h>

#include <mutex>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "tests/cluster/cluster_fixture.hpp"
#include "cluster/partition_log.hpp"

using namespace flashsale;
using namespace flashsale::testing;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

cluster::lease_keeper_options options(const std::string& node, int partitions,
                                      std::int64_t lease_ms) {
  cluster::lease_keeper_options o;
  o.node_id = node;
  o.partitions = partitions;
  o.lease_ms = lease_ms;
  return o;
}

std::unique_ptr<cluster::lease_keeper> join(std::shared_ptr<cluster::nats_link> link,
                                            cluster::lease_keeper_options o) {
  auto k = cluster::lease_keeper::start(std::move(link), std::move(o));
  if (auto e = std::get_if<std::string>(&k)) {
    ADD_FAILURE() << *e;
    return nullptr;
  }
  return std::move(std::get<0>(k));
}

/// No partition is believed owned by two keepers at once.
bool disjoint(const std::vector<cluster::lease_keeper*>& keepers) {
  std::set<int> seen;
  for (auto* k : keepers)
    for (auto& [p, epoch] : k->owned())
      if (!seen.insert(p).second)
        return false;
  return true;
}

} // namespace

TEST_F(ClusterTest, ThreeNodesHoldEveryPartitionOnceAndEvenly) {
  auto a = join(link, options("a", 12, 2000));
  auto b = join(link, options("b", 12, 2000));
  auto c = join(link, options("c", 12, 2000));
  ASSERT_TRUE(a && b && c);
  const std::map<std::string, int> even{{"a", 4}, {"b", 4}, {"c", 4}};
  ASSERT_TRUE(eventually([&] { return shares() == even; }, seconds(20))) << shares().size();
  EXPECT_TRUE(disjoint({a.get(), b.get(), c.get()}));
  EXPECT_EQ(a->owned().size() + b->owned().size() + c->owned().size(), 12u);
  // Epochs are the creating revisions of distinct keys: all different.
  std::set<std::uint64_t> epochs;
  for (auto* k : {a.get(), b.get(), c.get()})
    for (auto& [p, epoch] : k->owned())
      epochs.insert(epoch);
  EXPECT_EQ(epochs.size(), 12u);
}

TEST_F(ClusterTest, ANodeLeavingHandsItsPartitionsOverBeforeItsLeasesWouldExpire) {
  auto a = join(link, options("a", 12, 10000));
  auto b = join(link, options("b", 12, 10000));
  auto c = join(link, options("c", 12, 10000));
  ASSERT_TRUE(eventually([&] { return shares().size() == 3 && disjoint({a.get(), b.get(), c.get()})
                                      && a->owned().size() + b->owned().size()
                                             + c->owned().size() == 12; },
                         seconds(30)));
  auto left = std::chrono::steady_clock::now();
  c.reset(); // leaves cleanly: releases its leases by revision
  const std::map<std::string, int> two{{"a", 6}, {"b", 6}};
  ASSERT_TRUE(eventually([&] { return shares() == two; }, seconds(9)));
  EXPECT_LT(std::chrono::steady_clock::now() - left, seconds(10)) << "released, not expired";
  EXPECT_EQ(a->owned().size() + b->owned().size(), 12u);
}

namespace {

/// Every keeper's on_acquired / on_lost, in one global order (the callbacks of different
/// keepers run on different threads; the counter orders them as they happened).
struct ownership_history {
  std::mutex mutex;
  std::vector<std::tuple<int, std::string, bool>> events; // partition, node, acquired

  cluster::lease_keeper_options watch(cluster::lease_keeper_options o) {
    auto node = o.node_id;
    o.on_acquired = [this, node](int p, std::uint64_t) {
      std::lock_guard lock(mutex);
      events.emplace_back(p, node, true);
      return true;
    };
    o.on_lost = [this, node](int p) {
      std::lock_guard lock(mutex);
      events.emplace_back(p, node, false);
    };
    return o;
  }

  /// "" when every partition passed from owner to owner only after the former one's on_lost.
  std::string overlaps() {
    std::lock_guard lock(mutex);
    std::map<int, std::string> owner;
    std::string broken;
    for (auto& [p, node, acquired] : events) {
      if (acquired) {
        if (owner.count(p))
          broken += "p" + std::to_string(p) + " to " + node + " while " + owner[p] + " held it; ";
        owner[p] = node;
      } else if (owner.count(p) && owner[p] == node) {
        owner.erase(p);
      }
    }
    return broken;
  }
};

} // namespace

TEST_F(ClusterTest, ANodeJoiningGetsItsShareWhileNoPartitionHasTwoOwners) {
  // A keeper's on_lost runs before it deletes the lease, and another's create succeeds only
  // after the delete: in a voluntary hand-over the two beliefs never overlap. (Sampling each
  // keeper's owned() one after the other could see a hand-over "twice"; the callbacks'
  // order cannot.)
  ownership_history history;
  auto a = join(link, history.watch(options("a", 12, 2000)));
  auto b = join(link, history.watch(options("b", 12, 2000)));
  auto c = join(link, history.watch(options("c", 12, 2000)));
  ASSERT_TRUE(eventually([&] { return shares() == std::map<std::string, int>{
                                 {"a", 4}, {"b", 4}, {"c", 4}}; }, seconds(20)));
  auto d = join(link, history.watch(options("d", 12, 2000)));
  const std::map<std::string, int> four{{"a", 3}, {"b", 3}, {"c", 3}, {"d", 3}};
  ASSERT_TRUE(eventually([&] { return shares() == four && d->owned().size() == 3; },
                         seconds(30)));
  EXPECT_EQ(history.overlaps(), "");
}

TEST_F(ClusterTest, ANodeConfiguredWithOtherPartitionsIsRefusedNamingTheKey) {
  auto a = join(link, options("a", 12, 2000));
  ASSERT_TRUE(a);
  auto other = cluster::lease_keeper::start(link, options("b", 16, 2000));
  ASSERT_TRUE(std::holds_alternative<std::string>(other));
  EXPECT_NE(std::get<std::string>(other).find("cluster.partitions is 16 but the cluster was "
                                              "created with 12"),
            std::string::npos)
    << std::get<std::string>(other);
  auto slower = cluster::lease_keeper::start(link, options("b", 12, 5000));
  ASSERT_TRUE(std::holds_alternative<std::string>(slower));
  EXPECT_NE(std::get<std::string>(slower).find("cluster.lease_ms"), std::string::npos);
}

// ---- real member processes: SIGKILL and SIGSTOP ---------------------------------------------

namespace {

std::unique_ptr<child_process> member(const nats_cluster& c, const std::string& node,
                                      int partitions, int lease_ms) {
  std::vector<std::string> argv{CLUSTER_MEMBER_BINARY};
  for (auto& a : c.member_args())
    argv.push_back(a);
  argv.insert(argv.end(), {"--node", node, "--partitions", std::to_string(partitions),
                           "--lease-ms", std::to_string(lease_ms), "--append-every-ms", "20"});
  auto m = std::make_unique<child_process>(argv);
  EXPECT_TRUE(m->wait_for_line([](auto& l) { return l == "ready"; }, seconds(40)))
    << m->output();
  return m;
}

/// `flashsale cluster status` (plus `extra`) on `c`, with the credentials a node uses.
std::vector<std::string> status_command(const nats_cluster& c, std::vector<std::string> extra) {
  std::vector<std::string> argv{FLASHSALE_BINARY, "cluster", "status"};
  for (auto& a : c.nats_set_args())
    argv.push_back(a);
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

/// The partitions `node` holds now, from the bucket.
std::vector<int> partitions_of(cluster::nats_link& link, const std::string& node) {
  std::vector<int> held;
  auto view = cluster::read_cluster_view(link);
  if (auto v = std::get_if<cluster::cluster_view>(&view))
    for (auto& [p, lease] : v->leases)
      if (lease.node == node)
        held.push_back(p);
  return held;
}

/// `m` printed "<what> <p>" for every p of `partitions` after the first `offset` bytes.
bool printed_for_all(child_process& m, std::size_t offset, const std::string& what,
                     const std::vector<int>& partitions) {
  auto out = m.output();
  for (int p : partitions)
    if (out.find(what + " " + std::to_string(p) + (what == "lost" ? "\n" : " "), offset)
        == std::string::npos)
      return false;
  return true;
}

/// In every partition's log the epochs never decrease, and after a claim only its owner
/// appends until the next claim: no sequence was written by two owners. Returns "" or what
/// broke it.
std::string single_writer_violations(cluster::partition_log& log, int partitions) {
  std::string broken;
  for (int p = 0; p < partitions; ++p) {
    auto records = log.read(p);
    if (auto e = std::get_if<std::string>(&records))
      return *e;
    std::string owner;
    std::uint64_t epoch = 0;
    for (auto& r : std::get<std::vector<cluster::partition_record>>(records)) {
      if (r.type == cluster::partition_record::kind::claim) {
        if (r.epoch <= epoch)
          broken += "p" + std::to_string(p) + " claim at " + std::to_string(r.seq)
                    + " with an older epoch; ";
        owner = r.owner;
        epoch = r.epoch;
      } else if (r.owner != owner || r.epoch != epoch) {
        broken += "p" + std::to_string(p) + " seq " + std::to_string(r.seq) + " by " + r.owner
                  + " after " + owner + "'s claim; ";
      }
    }
  }
  return broken;
}

} // namespace

TEST_F(ClusterTest, AKilledOwnersPartitionsAreServedByTheOthersWithinFiveSeconds) {
  const int partitions = 6, lease_ms = 2000;
  auto a = member(*cluster, "a", partitions, lease_ms);
  auto b = member(*cluster, "b", partitions, lease_ms);
  auto c = member(*cluster, "c", partitions, lease_ms);
  ASSERT_TRUE(eventually([&] { return shares() == std::map<std::string, int>{
                                 {"a", 2}, {"b", 2}, {"c", 2}}; }, seconds(30)));
  auto victims = partitions_of(*link, "c");
  ASSERT_EQ(victims.size(), 2u);
  const auto seen_a = a->output().size(), seen_b = b->output().size();
  c->signal(SIGKILL);
  auto killed = std::chrono::steady_clock::now();
  c->wait_exit(seconds(5));
  // Served again = the lease taken AND the partition claimed in its log by a survivor.
  ASSERT_TRUE(eventually([&] {
    std::vector<int> by_a, by_b;
    for (int p : victims)
      (printed_for_all(*a, seen_a, "acquired", {p}) ? by_a : by_b).push_back(p);
    return printed_for_all(*b, seen_b, "acquired", by_b);
  }, seconds(10))) << a->output() << b->output();
  auto took = std::chrono::steady_clock::now() - killed;
  EXPECT_LT(took, seconds(5)) << std::chrono::duration_cast<milliseconds>(took).count() << " ms";
  EXPECT_TRUE(eventually([&] { return shares() == std::map<std::string, int>{{"a", 3}, {"b", 3}}; },
                         seconds(5)));
  std::cout << "take-over after SIGKILL: "
            << std::chrono::duration_cast<milliseconds>(took).count() << " ms (lease "
            << lease_ms << " ms)\n";
  auto log = cluster::partition_log::open(link);
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<cluster::partition_log>>(log));
  EXPECT_EQ(single_writer_violations(*std::get<0>(log), partitions), "");
}

TEST_F(ClusterTest, APausedOwnerPastItsLeaseIsFencedByTheStreamAndAppendsNothing) {
  const int partitions = 4, lease_ms = 1500;
  auto a = member(*cluster, "a", partitions, lease_ms);
  auto b = member(*cluster, "b", partitions, lease_ms);
  ASSERT_TRUE(eventually([&] { return shares() == std::map<std::string, int>{
                                 {"a", 2}, {"b", 2}}; }, seconds(30)));
  auto paused = partitions_of(*link, "a");
  ASSERT_EQ(paused.size(), 2u);
  const auto seen_a = a->output().size(), seen_b = b->output().size();
  a->signal(SIGSTOP);
  // b takes a's partitions once their leases expire, and claims them in the log.
  ASSERT_TRUE(eventually([&] { return printed_for_all(*b, seen_b, "acquired", paused); },
                         seconds(15))) << b->output();
  EXPECT_EQ(shares(), (std::map<std::string, int>{{"b", 4}}));
  a->signal(SIGCONT);
  // a wakes up believing it owns two partitions; it must learn it does not.
  ASSERT_TRUE(eventually([&] { return printed_for_all(*a, seen_a, "lost", paused); },
                         seconds(10))) << a->output();
  // Then a rejoins as a fresh owner (new leases, new epochs, new claims): shares even again.
  ASSERT_TRUE(eventually([&] { return shares() == std::map<std::string, int>{
                                 {"a", 2}, {"b", 2}}; }, seconds(20)));
  auto log = cluster::partition_log::open(link);
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<cluster::partition_log>>(log));
  EXPECT_EQ(single_writer_violations(*std::get<0>(log), partitions), "");
}

TEST_F(ClusterTest, ClusterStatusShowsEveryPartitionWithItsOwnerAndItsLog) {
  auto a = join(link, options("a", 4, 2000));
  auto b = join(link, options("b", 4, 2000));
  ASSERT_TRUE(eventually([&] { return shares() == std::map<std::string, int>{
                                 {"a", 2}, {"b", 2}}; }, seconds(20)));
  auto log = cluster::partition_log::open(link);
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<cluster::partition_log>>(log));
  auto claimed = std::get<0>(log)->claim(1, "a", 1);
  ASSERT_TRUE(std::holds_alternative<std::uint64_t>(claimed));

  child_process status(status_command(*cluster, {"--json"}));
  ASSERT_EQ(status.wait_exit(seconds(20)), 0) << status.output();
  auto json = nlohmann::json::parse(status.output());
  EXPECT_EQ(json["partitions"], 4);
  EXPECT_EQ(json["lease_ms"], 2000);
  EXPECT_EQ(json["nodes"].size(), 2u);
  std::map<std::string, int> owners;
  for (auto& lease : json["leases"])
    ++owners[lease["owner"].get<std::string>()];
  EXPECT_EQ(owners, (std::map<std::string, int>{{"a", 2}, {"b", 2}}));
  EXPECT_EQ(json["leases"][1]["log_last_seq"], std::get<std::uint64_t>(claimed));
  // The streams' replication: a leader among the three servers, the two others following.
  for (auto stream : {"KV_flashsale_cluster", "FLASHSALE_PARTITIONS"}) {
    auto& s = json["streams"][stream];
    EXPECT_GE(cluster->index_of(s.value("leader", "")), 0) << stream << " " << s.dump();
    ASSERT_EQ(s["followers"].size(), 2u) << stream << " " << s.dump();
    for (auto& f : s["followers"]) {
      EXPECT_GE(cluster->index_of(f["server"].get<std::string>()), 0) << f.dump();
      EXPECT_NE(f["server"], s["leader"]) << f.dump();
      EXPECT_FALSE(f["offline"].get<bool>()) << f.dump();
    }
  }

  child_process table(status_command(*cluster, {}));
  ASSERT_EQ(table.wait_exit(seconds(20)), 0) << table.output();
  EXPECT_NE(table.output().find("partitions 4, lease 2000 ms, 2 live node(s)"), std::string::npos)
    << table.output();
}

TEST_F(ClusterTest, ClusterStatusSaysSoWhenNatsHoldsNoCluster) {
  child_process status(status_command(*cluster, {}));
  ASSERT_EQ(status.wait_exit(seconds(20)), 0) << status.output();
  EXPECT_EQ(status.output(), "no cluster\n");
}
