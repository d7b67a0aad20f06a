// Which partition a product or an order belongs to, and which partitions one node of a
// cluster should hold. Pure: no I/O, no clock, so every node computes the same answer from
// the same view of the lease bucket, and the tests can enumerate cases.
//
// The placement rule (issue 15): P partitions, N live nodes sorted by id; the first P % N
// nodes hold ceil(P/N) partitions, the others floor(P/N). A node keeps what it holds up to its
// quota, gives back the excess (the partitions it ranks lowest), and takes free partitions in
// the order of its rendezvous rank, so two nodes racing for free partitions mostly want
// different ones, and a node joining or leaving moves only the partitions it must.
// invariant: the quotas of the live nodes sum to P, so when every node has converged each
// partition has exactly one owner; the lease bucket (create / update-if-revision) makes the
// "exactly one" hold while they converge.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace flashsale::cluster {

/// FNV-1a, 64 bits: fixed forever, because a partition's events live in its stream. Changing
/// the hash would move products between streams.
std::uint64_t stable_hash(std::string_view bytes);

/// The partition of a product id or an order id, in [0, partitions).
int partition_of(std::string_view key, int partitions);

/// The number of partitions `node` should hold among `live_nodes` (any order, no duplicates;
/// `node` must be one of them).
int quota_of(const std::string& node, std::vector<std::string> live_nodes, int partitions);

struct lease_plan {
  std::vector<int> take;    ///< free partitions to try, best first (only as many as needed)
  std::vector<int> release; ///< held partitions beyond the quota, to drain and give back
};

/// What `node` should do now. `owners` maps a partition to its current lease holder; a
/// partition absent from it is free. `live_nodes` is the node set heartbeating in the bucket.
lease_plan plan_leases(const std::string& node, const std::vector<std::string>& live_nodes,
                       const std::map<int, std::string>& owners, int partitions);

} // namespace flashsale::cluster
