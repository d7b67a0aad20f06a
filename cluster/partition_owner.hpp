// A node's side of partition ownership: the lease keeper and the partition log together.
// When a lease is acquired the partition is claimed in its log, its history read back (the
// rebuild) and handed to `on_serving`, on a claimer thread of its own (retrying while the log
// does not answer and the lease lasts, so a slow log never delays the keeper's renewals);
// from then on `append` writes to it, each append naming the sequence the previous one
// returned. A lost lease, or an append the stream refuses
// because someone else appended (fenced), ends serving the partition at once (`on_stopped`).
// What the node will build on it: a partition's events are committed by `append` before any
// answer is sent (R3 acknowledgement), and a new owner rebuilds its state from `history`.
// invariant: between on_serving(p) and on_stopped(p) this node is the partition's only writer,
// and an append outside that window is refused without touching the stream.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "cluster/lease_keeper.hpp"
#include "cluster/partition_log.hpp"

namespace flashsale::cluster {

struct partition_owner_options {
  lease_keeper_options lease; ///< its on_acquired / on_lost / drain are the owner's own
  partition_log_options log;
  /// The partition is ours and rebuilt: `history` is its log up to and including our claim
  /// (empty unless `read_history`).
  std::function<void(int partition, const std::vector<partition_record>& history)> on_serving;
  /// false: the caller reads the logs itself (a whole-node rebuild), so a claim is not
  /// followed by a read that would only be thrown away.
  bool read_history = true;
  /// The partition is no longer ours (lease lost or released, or fenced by the stream).
  std::function<void(int partition)> on_stopped;
};

class partition_owner {
public:
  static std::variant<std::unique_ptr<partition_owner>, std::string>
  start(std::shared_ptr<nats_link> link, partition_owner_options o);
  ~partition_owner(); ///< leaves the cluster: releases every lease

  /// Leases taken whose claims are still being written (a burst of take-overs is under way).
  bool claims_pending() const;

  /// Appends to a partition we serve; returns its sequence once a quorum stored it.
  std::variant<std::uint64_t, append_refused> append(int partition, std::string_view body);

  /// The partitions served now, with their lease epochs.
  std::map<int, std::uint64_t> serving() const;

  struct impl;

private:
  explicit partition_owner(std::unique_ptr<impl> self);
  std::unique_ptr<impl> self_;
};

} // namespace flashsale::cluster
