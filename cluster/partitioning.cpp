#include "cluster/partitioning.hpp"

#include <algorithm>

namespace flashsale::cluster {

std::uint64_t stable_hash(std::string_view bytes) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

int partition_of(std::string_view key, int partitions) {
  return static_cast<int>(stable_hash(key) % static_cast<std::uint64_t>(partitions));
}

int quota_of(const std::string& node, std::vector<std::string> live_nodes, int partitions) {
  std::sort(live_nodes.begin(), live_nodes.end());
  auto at = std::find(live_nodes.begin(), live_nodes.end(), node);
  if (at == live_nodes.end() || partitions <= 0)
    return 0;
  const int n = static_cast<int>(live_nodes.size());
  const int index = static_cast<int>(at - live_nodes.begin());
  return partitions / n + (index < partitions % n ? 1 : 0);
}

namespace {

/// Rendezvous (highest random weight) rank of `partition` for `node`: higher is preferred.
std::uint64_t rank(const std::string& node, int partition) {
  // A final avalanche (splitmix64's), because FNV of nearly equal strings differs little.
  std::uint64_t x = stable_hash(node + "/" + std::to_string(partition));
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

void sort_by_rank(const std::string& node, std::vector<int>& partitions) {
  std::sort(partitions.begin(), partitions.end(), [&](int a, int b) {
    auto ra = rank(node, a), rb = rank(node, b);
    return ra != rb ? ra > rb : a < b;
  });
}

} // namespace

lease_plan plan_leases(const std::string& node, const std::vector<std::string>& live_nodes,
                       const std::map<int, std::string>& owners, int partitions) {
  const int quota = quota_of(node, live_nodes, partitions);
  std::vector<int> held, free;
  for (int p = 0; p < partitions; ++p) {
    auto it = owners.find(p);
    if (it == owners.end())
      free.push_back(p);
    else if (it->second == node)
      held.push_back(p);
  }
  lease_plan plan;
  const int have = static_cast<int>(held.size());
  if (have > quota) {
    sort_by_rank(node, held);
    plan.release.assign(held.begin() + quota, held.end());
  } else if (have < quota) {
    sort_by_rank(node, free);
    free.resize(std::min<std::size_t>(free.size(), static_cast<std::size_t>(quota - have)));
    plan.take = std::move(free);
  }
  return plan;
}

} // namespace flashsale::cluster
