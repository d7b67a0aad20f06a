// The event store: an append-only log of envelopes with optimistic concurrency per stream,
// plus the idempotency index, snapshots and the outbox position that live beside it.
// invariant: nothing is reported committed before it is durable; seq strictly increases in
// commit order; within a stream, versions are 1, 2, 3, ... without gaps.
// Thread-safe: every method may be called from any thread. No exception leaves this API.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "events/envelope.hpp"

namespace flashsale {

enum class store_errc {
  version_conflict, ///< a stream's expected version did not match; nothing of that batch written
  store_failed,     ///< a commit failed (or failed earlier): the store refuses every write
  io_error,         ///< the file could not be opened or read
  locked,           ///< another connection or process holds the database
  bad_schema,       ///< not a flashsale store, or written by a newer schema version
};

/// Stable name of a code, for logs and metrics ("version_conflict", ...).
const char* to_string(store_errc code);

struct store_error {
  store_errc code;
  std::string message;
};

struct new_event {
  std::string type;
  std::string data; ///< the event's fields as a serialized JSON object
  timestamp_ms recorded_at = 0;
};

struct stream_append {
  std::string stream;
  /// The stream's current last version; 0 = the stream must not exist yet.
  std::int64_t expected_version = 0;
  std::vector<new_event> events;
  /// The stream has exactly one writer that knows its version (an inventory actor): a
  /// mismatch then means that writer's state is behind the store, and everything it decided
  /// since is suspect, so the store latches (store_failed for every later write) instead of
  /// reporting a per-batch version_conflict.
  bool single_writer = false;
};

/// The first answer to (user_id, key); a later record with the same key is ignored.
struct idempotency_record {
  std::string user_id, key, request_hash, order_id;
  int status = 0;
  std::string body;
  timestamp_ms recorded_at = 0;
};

/// Atomic on its own: either every stream append and record of it commits, or none.
struct append_batch {
  std::vector<stream_append> streams;
  std::vector<idempotency_record> idempotency;
};

struct append_result {
  std::optional<store_error> error;
  std::vector<envelope> committed; ///< with seq and version assigned, in seq order
};

/// Reported after each commit (one group transaction).
struct commit_stats {
  std::int64_t last_seq = 0;             ///< the store's last seq after this commit
  std::size_t events = 0;                ///< events committed by this transaction
  std::size_t batches = 0;               ///< append batches committed by this transaction
  std::chrono::microseconds duration{0}; ///< BEGIN to COMMIT returned
};

/// Opaque to the store: `seq` is the last event folded into `data`.
struct snapshot {
  std::int64_t seq = 0;
  timestamp_ms taken_at = 0;
  std::string data;
};

enum class sync_mode {
  full,   ///< fsync every commit (the default): an acknowledged append survives power loss
  normal, ///< fsync at checkpoints only: survives process crashes, may lose the last commits
          ///< on power loss, never corrupts
};

struct store_options {
  std::string path; ///< the database file, e.g. "<data_dir>/events.db"
  sync_mode sync = sync_mode::full;
  std::size_t max_batch_events = 1000; ///< bound of one group commit (one batch is never split)
};

struct stream_read {
  std::vector<envelope> events;
  std::optional<store_error> error;
};

class event_store {
public:
  virtual ~event_store() = default;

  /// Asynchronous group commit: `done` runs on the writer thread after the transaction that
  /// holds this batch committed (or failed). Never before durable. Batches appended from one
  /// thread commit in the order they were appended.
  virtual void append(append_batch batch, std::function<void(append_result)> done) = 0;

  /// Blocking helper built on append(). Never call it from a `done` callback or the commit
  /// observer: they run on the writer thread, which would wait for itself.
  append_result append_sync(append_batch batch);

  /// Committed events with seq > after_seq, ascending, at most `limit`.
  virtual std::vector<envelope> read_from(std::int64_t after_seq, std::size_t limit) = 0;
  /// The stream's committed events with version > after_version, ascending; on a read error
  /// (I/O, corruption) no events and the error: a partial stream would fold a wrong state,
  /// and "no events" must not pass for "no such stream".
  virtual stream_read read_stream(const std::string& stream, std::int64_t after_version = 0) = 0;
  /// The stream's last committed version; 0 when it does not exist.
  virtual std::int64_t stream_version(const std::string& stream) = 0;
  /// The last committed seq; 0 when the store is empty.
  virtual std::int64_t last_seq() = 0;
  virtual std::optional<idempotency_record> find_idempotency(const std::string& user_id,
                                                             const std::string& key) = 0;
  /// Calls `visit` with the (user_id, key) of every stored first answer (start-up only);
  /// false on a read error.
  virtual bool visit_idempotency_keys(
      const std::function<void(std::string_view user_id, std::string_view key)>& visit) = 0;

  /// Runs `job` on a reader thread of the store's own, in submission order: for callers that
  /// must not block (actors), which read in `job` and post the result back to themselves.
  /// Jobs still queued when the store closes run before it does.
  virtual void run_read(std::function<void()> job) = 0;

  /// Stored in a file beside the log, on the calling thread (it blocks; `done` runs before it
  /// returns), never inside a group commit; keeps the latest 2 by seq.
  virtual void save_snapshot(snapshot s, std::function<void(std::optional<store_error>)> done) = 0;
  virtual std::optional<snapshot> latest_snapshot() = 0;

  /// The last seq published to NATS.
  virtual std::int64_t outbox_position() = 0;
  /// Stored by the writer; monotonic: a lower `seq` than the stored one is ignored (no error).
  virtual void set_outbox_position(std::int64_t seq,
                                   std::function<void(std::optional<store_error>)> done) = 0;

  /// Random id fixed at creation (16 hex chars), used in Nats-Msg-Id.
  virtual const std::string& store_id() const = 0;
  /// Set once a commit failed: the store then refuses every later write with store_failed.
  virtual std::optional<store_error> failure() const = 0;
  /// Called on the writer thread after each commit (metrics, outbox wake-up). Keep it short.
  virtual void set_commit_observer(std::function<void(const commit_stats&)> observer) = 0;
  /// Blocks until everything appended before the call is committed (or failed). Returns at
  /// once when called on the writer thread.
  virtual void flush() = 0;
};

} // namespace flashsale
