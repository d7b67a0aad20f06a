// The placement rule, pure: stable hashing, quotas that sum to P, and plans that converge to
// one owner per partition with even shares, moving only what a join or a leave must move.
#include <algorithm>
#include <random>

#include <gtest/gtest.h>

#include "cluster/partitioning.hpp"

using namespace flashsale::cluster;

TEST(Partitioning, TheHashIsFnv1a64ForeverBecauseStreamsHoldItsResults) {
  EXPECT_EQ(stable_hash(""), 14695981039346656037ull);
  EXPECT_EQ(stable_hash("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(stable_hash("foobar"), 0x85944171f73967e8ull);
  EXPECT_EQ(partition_of("foobar", 12), static_cast<int>(0x85944171f73967e8ull % 12));
}

TEST(Partitioning, ProductsSpreadOverEveryPartition) {
  std::vector<int> count(16);
  for (int i = 0; i < 1600; ++i)
    ++count[partition_of("product-" + std::to_string(i), 16)];
  for (int c : count) {
    EXPECT_GT(c, 50);
    EXPECT_LT(c, 150);
  }
}

TEST(Partitioning, QuotasSumToThePartitionsAndDifferByAtMostOne) {
  for (int partitions : {1, 5, 12, 64}) {
    for (int n = 1; n <= 10; ++n) {
      std::vector<std::string> nodes;
      for (int i = 0; i < n; ++i)
        nodes.push_back("node-" + std::to_string(i));
      int sum = 0, lo = partitions, hi = 0;
      for (auto& node : nodes) {
        int q = quota_of(node, nodes, partitions);
        sum += q;
        lo = std::min(lo, q);
        hi = std::max(hi, q);
      }
      EXPECT_EQ(sum, partitions) << partitions << " over " << n;
      EXPECT_LE(hi - lo, 1) << partitions << " over " << n;
    }
  }
  EXPECT_EQ(quota_of("stranger", {"a", "b"}, 12), 0);
}

namespace {

/// Nodes apply their plans one at a time, in a random order, until nobody has anything to do
/// (as the lease bucket serializes their creates and deletes). Returns the number of steps.
int converge(std::map<int, std::string>& owners, const std::vector<std::string>& nodes,
             int partitions, std::mt19937& random) {
  for (int step = 0; step < 1000; ++step) {
    std::vector<std::string> order = nodes;
    std::shuffle(order.begin(), order.end(), random);
    bool changed = false;
    for (auto& node : order) {
      auto plan = plan_leases(node, nodes, owners, partitions);
      for (int p : plan.release) {
        EXPECT_EQ(owners[p], node);
        owners.erase(p);
        changed = true;
      }
      // Another node may take a partition first: a create that finds the key taken fails.
      for (int p : plan.take)
        if (!owners.count(p)) {
          owners[p] = node;
          changed = true;
          break; // one create per node per turn, so the others get their turns
        }
    }
    if (!changed)
      return step;
  }
  ADD_FAILURE() << "did not converge";
  return -1;
}

std::map<std::string, int> shares(const std::map<int, std::string>& owners) {
  std::map<std::string, int> s;
  for (auto& [p, node] : owners)
    ++s[node];
  return s;
}

} // namespace

TEST(Partitioning, PlansConvergeToEvenSharesWithEveryPartitionOwned) {
  std::mt19937 random(7);
  std::map<int, std::string> owners;
  std::vector<std::string> nodes{"n1", "n2", "n3"};
  converge(owners, nodes, 12, random);
  EXPECT_EQ(owners.size(), 12u);
  EXPECT_EQ(shares(owners), (std::map<std::string, int>{{"n1", 4}, {"n2", 4}, {"n3", 4}}));
}

TEST(Partitioning, AJoinMovesOnlyTheNewcomersShareAndALeaveOnlyTheLeaversPartitions) {
  std::mt19937 random(11);
  std::map<int, std::string> owners;
  std::vector<std::string> nodes{"n1", "n2", "n3"};
  converge(owners, nodes, 12, random);
  auto before = owners;

  nodes.push_back("n4");
  converge(owners, nodes, 12, random);
  EXPECT_EQ(shares(owners),
            (std::map<std::string, int>{{"n1", 3}, {"n2", 3}, {"n3", 3}, {"n4", 3}}));
  int moved = 0;
  for (auto& [p, node] : owners)
    moved += before.at(p) != node;
  EXPECT_EQ(moved, 3) << "only the newcomer's share moves";

  before = owners;
  nodes.erase(std::find(nodes.begin(), nodes.end(), "n2"));
  for (auto it = owners.begin(); it != owners.end();) // n2 died: its leases expired
    it = it->second == "n2" ? owners.erase(it) : std::next(it);
  converge(owners, nodes, 12, random);
  EXPECT_EQ(owners.size(), 12u);
  EXPECT_EQ(shares(owners), (std::map<std::string, int>{{"n1", 4}, {"n3", 4}, {"n4", 4}}));
  for (auto& [p, node] : before)
    if (node != "n2")
      EXPECT_EQ(owners.at(p), node) << "partition " << p << " moved although its owner lives";
}
