// Durable means replicated (issue 15): an event_store whose commits are reported only once
// they are in the partition logs. Each batch is committed by the local store (the node's
// SQLite) first; then a replicator thread appends, per partition, everything committed since
// its last append (events and idempotency records) as one fenced record of that partition's
// log (cluster::partition_owner: R3 quorum acknowledgement), and only then runs the batches'
// `done`, in the order they were appended. So no answer precedes the quorum, and one
// replicated append carries a whole group of orders.
//
// A partition's append refused (not served here, fenced by a newer owner, no quorum in time)
// fails its batches with store_failed and latches the store, as a failed disk does: the local
// store now holds events the log may not, so the node must stop and rebuild from the logs
// (`import_partition_log`), where nothing unacknowledged can be mistaken for acknowledged.
//
// Record body (JSON): {"events":[<envelope>...],"idempotency":[<record>...]}; the envelopes
// keep their stream and version (their seq is the writer's, meaningless elsewhere).
// invariant: a batch's done(ok) runs only after every partition it touched acknowledged it.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/partition_log.hpp"
#include "cluster/partition_owner.hpp"
#include "persistence/event_store.hpp"

namespace flashsale::cluster {

/// The partition of an event stream: "product-<id>" and "order-<id>" by their id.
int partition_of_stream(const std::string& stream, int partitions);

class replicated_event_store final : public event_store {
public:
  /// `on_latched` runs once, on the replicator thread, when a refused append latches the
  /// store (the node then rebuilds from the logs).
  replicated_event_store(std::unique_ptr<event_store> local, partition_owner& owner,
                         int partitions, std::function<void()> on_latched = {});
  ~replicated_event_store() override;

  void append(append_batch batch, std::function<void(append_result)> done) override;
  std::vector<envelope> read_from(std::int64_t after_seq, std::size_t limit) override;
  stream_read read_stream(const std::string& stream, std::int64_t after_version) override;
  std::int64_t stream_version(const std::string& stream) override;
  std::int64_t last_seq() override;
  std::optional<idempotency_record> find_idempotency(const std::string& user_id,
                                                     const std::string& key) override;
  bool visit_idempotency_keys(
      const std::function<void(std::string_view, std::string_view)>& visit) override;
  void run_read(std::function<void()> job) override;
  void save_snapshot(snapshot s, std::function<void(std::optional<store_error>)> done) override;
  std::optional<snapshot> latest_snapshot() override;
  std::int64_t outbox_position() override;
  void set_outbox_position(std::int64_t seq,
                           std::function<void(std::optional<store_error>)> done) override;
  const std::string& store_id() const override;
  std::optional<store_error> failure() const override;
  void set_commit_observer(std::function<void(const commit_stats&)> observer) override;
  void flush() override;

  struct impl;

private:
  std::unique_ptr<impl> self_;
};

/// Appends a partition's log (oldest first, as partition_log::read returns it) into `into`,
/// stream by stream at the versions the log holds: the rebuild of a partition on a new owner.
/// A gap or a conflict with what `into` holds is an error (the log is the truth; a store that
/// disagrees with it must not be patched).
std::optional<std::string> import_partition_log(const std::vector<partition_record>& log,
                                                event_store& into);

} // namespace flashsale::cluster
