// Partition leases in a JetStream KV bucket (R3): which node owns which partition, taken
// with create and renewed with update-if-revision, so two nodes can never both hold one.
//
// Bucket `<bucket>` (TTL = lease_ms: a key not rewritten within a lease vanishes)
//   lease.<p>   {"node":"<id>","taken_ms":<unix ms>}   the owner of partition p
//   node.<id>   {"node":"<id>","started_ms":<unix ms>} a live node's heartbeat
// Bucket `<bucket>_meta` (no TTL)
//   partitions  "<P>"                                    fixed when the cluster is created
// A lease's epoch is the revision that created it: strictly greater for every later owner,
// so the partition log can say which owner wrote what.
//
// The keeper is a thread. Every lease_ms/4 it heartbeats, renews what it holds, reads the
// bucket and follows cluster::plan_leases: gives back the excess (after `drain`), takes free
// partitions up to its quota. A renewal refused by revision, or none acknowledged for
// lease_ms - 2 ticks, means the lease is lost: `on_lost` runs before any other node can hold
// it (our deadline runs from when we sent the renewal; the bucket's clock starts later).
// A renewal refused because one of ours landed unheard is recognised and renewed again. The
// bucket is read from its stream's replicas (stream info, then direct gets), never through a
// consumer, so the view survives JetStream's meta leader dying. Free partitions are taken
// from the second view in a row on (after start-up or the bucket's silence, the first one may
// not show the other nodes yet), except the ones this node lost to the silence itself.
// invariant: callbacks run on the keeper's thread, one at a time, in the order the lease
// changes happened; `on_acquired` and `on_lost` alternate per partition.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/nats_link.hpp"

namespace flashsale::cluster {

struct lease_keeper_options {
  std::string node_id;                      ///< unique in the cluster: [A-Za-z0-9_-]+
  int partitions = 12;                      ///< cluster.partitions; must match the cluster's
  std::int64_t lease_ms = 3000;             ///< cluster.lease_ms; must match the bucket's TTL
  int replicas = 3;                         ///< of both buckets
  std::string bucket = "flashsale_cluster"; ///< [A-Za-z0-9_-]+
  /// The partition is ours from now on (epoch = the lease's creating revision). Return false
  /// when it cannot be served now: the lease is given back at once (and `on_lost` follows).
  std::function<bool(int partition, std::uint64_t epoch)> on_acquired;
  /// The partition is no longer ours: stop acknowledging anything for it, now.
  std::function<void(int partition)> on_lost;
  /// We are about to give the partition back: finish or refuse what is in flight. The lease
  /// is released when it returns (and `on_lost` follows).
  std::function<void(int partition)> drain;
};

class lease_keeper {
public:
  /// Joins the cluster: creates the buckets (or checks them against the options) and starts
  /// the thread. Fails with a message naming the config key when the cluster disagrees.
  static std::variant<std::unique_ptr<lease_keeper>, std::string>
  start(std::shared_ptr<nats_link> link, lease_keeper_options o);
  /// Leaves: drains and releases every lease held, so others take them at once.
  ~lease_keeper();

  /// The partitions held now, with their epochs.
  std::map<int, std::uint64_t> owned() const;

  /// Asks for the lease of `partition` to be released at the next tick, if still held at
  /// `epoch` (the owner found it can no longer serve it, e.g. fenced by the stream).
  void give_back(int partition, std::uint64_t epoch);

  struct impl;

private:
  explicit lease_keeper(std::unique_ptr<impl> self);
  std::unique_ptr<impl> self_;
};

/// What the lease bucket says now (for `flashsale cluster status`, /health and tests).
struct cluster_view {
  struct lease {
    std::string node;
    std::uint64_t epoch = 0;        ///< the revision that created the lease
    std::int64_t taken_ms = 0;      ///< unix ms when it was taken
    std::int64_t renewed_ms = 0;    ///< unix ms of the last renewal (the bucket's clock)
  };
  struct node {
    std::int64_t started_ms = 0;
    std::int64_t heartbeat_ms = 0;
  };
  int partitions = 0;               ///< 0: no cluster in this NATS
  std::int64_t lease_ms = 0;
  std::map<int, lease> leases;      ///< absent = free
  std::map<std::string, node> nodes;
};

std::variant<cluster_view, std::string> read_cluster_view(nats_link& link,
                                                          const std::string& bucket
                                                          = "flashsale_cluster");

} // namespace flashsale::cluster
