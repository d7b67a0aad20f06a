// Which node owns which partition: placement in a JetStream KV bucket (R3). The bucket decides
// placement only; whether an owner may *serve* is decided by its partition's log (its fenced
// appends acknowledged within the lease: cluster/partition_store.hpp), so the bucket's leader
// dying (an election of seconds) stops no sale.
//
// Bucket `<bucket>` (no TTL: nothing vanishes with the bucket's silence)
//   node.<id>    {"node", "started_ms", "address", "beat": n}   rewritten every lease/4
//   lease.<p>    {"node": "<id>"} or {"node": ""} (free)        written only to move p
// Bucket `<bucket>_meta`: "partitions" and "lease_ms", fixed when the cluster is created.
// A lease's epoch is the revision that assigned it: larger for every later owner, so the
// partition log can say which owner wrote what. Assignments are compare-and-set by revision
// (the server serializes them: nats-server >= 2.11), so two nodes never both take one.
//
// The keeper is a thread; every lease/4 it heartbeats, reads the bucket and follows
// cluster::plan_leases. A node is dead when its heartbeat has not changed for a lease *while
// this node's own heartbeats were acknowledged throughout that lease*: after the bucket's
// silence nobody is judged on heartbeats it could not have written. A dead node's partitions
// are free to take. A node takes free partitions only from its second view in a row (at
// start-up the first may not show the other nodes yet). Giving one back drains it first.
// For partitions whose owner looks late (no heartbeat change for lease/2), the keeper watches
// their log heads: a new owner need not wait for a record it has long seen.
// invariant: callbacks run on the keeper's thread, one at a time, in the order of the changes.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "cluster/nats_link.hpp"

namespace flashsale::cluster {

struct placement_options {
  std::string node_id;                      ///< unique in the cluster: [A-Za-z0-9_-]+
  int partitions = 12;                      ///< cluster.partitions; must match the cluster's
  std::int64_t lease_ms = 3000;             ///< cluster.lease_ms; must match the cluster's
  int replicas = 3;                         ///< of both buckets
  std::string bucket = "flashsale_cluster"; ///< [A-Za-z0-9_-]+
  /// Partition p is ours from now on, at `epoch`: start serving it (without blocking).
  std::function<void(int partition, std::uint64_t epoch)> on_assigned;
  /// Partition p is no longer ours (the bucket names another owner): stop serving it now.
  std::function<void(int partition)> on_unassigned;
  /// We are giving p back: stop serving it and hand it over (a release record). Blocks; the
  /// lease is freed when it returns.
  std::function<void(int partition)> drain;
  /// The sequence of p's last log record now; nullopt when the log does not answer.
  std::function<std::optional<std::uint64_t>(int partition)> log_head;
};

class placement {
public:
  /// Joins the cluster: creates the buckets or checks them against the options (retrying while
  /// the cluster comes up or other nodes create them), then starts the keeper. Fails with a
  /// message naming the config key when the cluster disagrees.
  static std::variant<std::unique_ptr<placement>, std::string>
  start(std::shared_ptr<nats_link> link, placement_options o);
  /// Leaves: drains and frees every partition held, so others take them at once.
  ~placement();

  /// The partitions assigned to this node now, with their epochs.
  std::map<int, std::uint64_t> assigned() const;

  /// Where buyers reach this node, shown in its heartbeat (`flashsale cluster status`).
  void set_address(const std::string& address);

  /// Partition p at `epoch` cannot be served by this node (its log holds a later owner): forget
  /// it and free its lease if the bucket still names us at that epoch.
  void give_back(int partition, std::uint64_t epoch);

  /// When this node first saw `seq` as p's last log record (nullopt: not watched then).
  std::optional<std::chrono::steady_clock::time_point> seen_since(int partition,
                                                                  std::uint64_t seq) const;

  struct impl;

private:
  explicit placement(std::unique_ptr<impl> self);
  std::unique_ptr<impl> self_;
};

/// What the bucket says now (for `flashsale cluster status`, /health and tests).
struct cluster_view {
  struct lease {
    std::string node;          ///< empty: free
    std::uint64_t epoch = 0;   ///< the revision that assigned it
    std::int64_t taken_ms = 0; ///< unix ms when it was assigned (the bucket's clock)
  };
  struct node {
    std::int64_t started_ms = 0;
    std::int64_t heartbeat_ms = 0; ///< the bucket's clock at its latest heartbeat
    std::string address;
  };
  int partitions = 0; ///< 0: no cluster in this NATS
  std::int64_t lease_ms = 0;
  std::map<int, lease> leases; ///< absent = never assigned
  std::map<std::string, node> nodes;
};

std::variant<cluster_view, std::string>
read_cluster_view(nats_link& link, const std::string& bucket = "flashsale_cluster");

} // namespace flashsale::cluster
