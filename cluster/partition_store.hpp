// One partition's event store in cluster mode: the partition's stream in JetStream is its
// durable medium (cluster/partition_record.hpp has the layout), memory holds what the node
// reads back. No local copy is written: a commit is durable when a quorum of the stream's
// replicas acknowledged it, and a new owner rebuilds from the stream.
//
// Opening *claims* the partition: a claim record (this node, its lease epoch) appended after
// whatever is last, so a former owner's next append is refused by the stream. Then the latest
// snapshot (cluster/snapshot_store.hpp) and the log's tail up to the claim are read into
// memory. A writer thread commits in groups: each group's events, one message each, and its
// idempotency records travel as one fenced atomic batch; the waiters are answered after the
// acknowledgement. An append whose answer was lost is resolved from the log (it landed whole,
// or not at all and is sent again). One refused, fenced by another owner, or unresolved
// latches the store (every later write refused, `on_failure` told once), as a failed disk
// does: the actors' state may now be ahead of the log, so the owner reopens it from the log.
//
// Serving: the store may answer for its partition (reads included) only while its last
// acknowledged append was *sent* less than lease/2 ago; an idle store appends a heartbeat
// every lease/4. A node cut off from the stream therefore falls silent lease/2 after its last
// acknowledged append, before anyone else can serve: a new owner waits until the previous
// writer's last record has been visible to it for lease/2 (or it was a release record).
// invariant: no append is answered before its acknowledgement; once latched, never again.
// Thread-safe, like every event_store.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "cluster/partition_stream.hpp"
#include "cluster/snapshot_store.hpp"
#include "persistence/event_store.hpp"

namespace flashsale::cluster {

struct partition_store_options {
  int partition = 0;
  writer_id writer;                      ///< this node, at its lease's epoch
  std::int64_t lease_ms = 3000;          ///< serving window lease/2, heartbeat every lease/4
  std::size_t max_batch_messages = 1000; ///< nats-server's default atomic batch limit
  /// How long opening may keep retrying its claim while the log does not answer.
  std::chrono::milliseconds claim_patience{5000};
  /// How long an append whose answer was lost waits for the log to tell what became of it
  /// (a stream's leader election takes 4-9 s) before the store latches.
  std::chrono::milliseconds resolve_patience{10000};
  /// When this node first saw the partition's current last record (its previous owner's):
  /// that owner stops serving lease/2 after it sent it, so the wait ends sooner.
  std::function<std::optional<std::chrono::steady_clock::time_point>(std::uint64_t seq)> seen_since;
  /// The store latched (told once, on the writer thread: keep it short).
  std::function<void(const std::string& why, bool fenced_by_another)> on_failure;
};

/// Why a partition could not be opened.
struct open_refused {
  bool superseded = false; ///< the log holds a later epoch: this lease is stale, never retry
  std::string message;
};

/// What opening found, for logs and metrics.
struct open_report {
  std::uint64_t claim_seq = 0;
  std::uint64_t snapshot_covers = 0; ///< 0: no snapshot
  std::size_t snapshot_bytes = 0;
  std::size_t tail_records = 0; ///< read after the snapshot
  std::chrono::milliseconds snapshot_took{0}, tail_took{0};
  std::chrono::milliseconds took{0}; ///< the whole opening
  std::optional<writer_id> previous; ///< whose record preceded the claim
  bool previous_released = false;    ///< it was a release: no wait
};

class partition_store final : public event_store {
public:
  static std::variant<std::unique_ptr<partition_store>, open_refused>
  open(partition_stream& log, snapshot_store& snapshots, partition_store_options o);
  ~partition_store() override;

  /// May this node answer for the partition now (see the file comment)?
  bool serving() const;
  /// Not before this: the previous owner's serving window is over.
  std::chrono::steady_clock::time_point serve_after() const;
  const open_report& report() const;
  /// Appends a release record once everything queued is committed: the next owner may serve
  /// at once. No-op once latched. Blocks.
  void release();
  /// Events committed here since opening (metrics).
  std::int64_t appended_events() const;

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
  explicit partition_store(std::unique_ptr<impl> self);
  std::unique_ptr<impl> self_;
};

/// A partition snapshot's bytes: the node's world snapshot and the idempotency records it
/// covers. Format: "<world length>\n<world><records as a JSON array>".
std::string encode_partition_snapshot(const std::string& world,
                                      const std::vector<idempotency_record>& keys);
bool decode_partition_snapshot(const std::string& bytes, std::string& world,
                               std::vector<idempotency_record>& keys);

} // namespace flashsale::cluster
