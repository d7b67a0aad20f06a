// The single writer of the event store: one thread owns the write connection and commits
// whatever queued up while the previous commit was in flight as one transaction (group commit,
// as LevelDB's DBImpl::Write), each append batch under its own SAVEPOINT.
// invariant: a waiter is answered only after COMMIT returned; after a failed commit every later
// write is refused with store_failed (nothing is ever answered committed that was not).
// Runs its own thread; the public methods may be called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "persistence/event_store.hpp"
#include "persistence/sqlite_util.hpp"

namespace flashsale {

class group_commit_writer {
public:
  /// Takes a write connection whose schema is in place (pragmas set), prepares the statements
  /// once and starts the writer thread. `last_seq` and `outbox_position` are the stored values.
  static std::variant<std::unique_ptr<group_commit_writer>, store_error>
  start(sqlite::connection db, std::size_t max_batch_events, std::int64_t last_seq,
        std::int64_t outbox_position);

  /// Drains the queue (every waiter is answered) and stops the thread. Producers must have
  /// stopped calling in. Idempotent.
  void stop();
  /// stop(), then checkpoints (TRUNCATE) the WAL and closes the connection.
  ~group_commit_writer();
  group_commit_writer(const group_commit_writer&) = delete;
  group_commit_writer& operator=(const group_commit_writer&) = delete;

  void append(append_batch batch, std::function<void(append_result)> done);
  void set_outbox_position(std::int64_t seq, std::function<void(std::optional<store_error>)> done);
  void flush();
  void set_commit_observer(std::function<void(const commit_stats&)> observer);

  std::optional<store_error> failure() const;
  std::int64_t last_seq() const { return last_seq_.load(std::memory_order_acquire); }
  std::int64_t outbox_position() const { return outbox_.load(std::memory_order_acquire); }

private:
  struct append_request {
    append_batch batch;
    std::function<void(append_result)> done;
  };
  struct outbox_request {
    std::int64_t seq;
    std::function<void(std::optional<store_error>)> done;
  };
  using request = std::variant<append_request, outbox_request>;
  using observer_fn = std::function<void(const commit_stats&)>;

  group_commit_writer(sqlite::connection db, std::size_t max_batch_events, std::int64_t last_seq,
                      std::int64_t outbox_position);
  int prepare_all();
  void enqueue(request r);
  void run();
  std::size_t group_end(const std::vector<request>& work, std::size_t begin) const;
  void commit_group(std::vector<request>& work, std::size_t begin, std::size_t end);
  bool write_append(append_batch& batch, append_result& out);
  bool resolve_unique_violation(const append_batch& batch, const stream_append& sa, bool savepoint,
                                append_result& out);
  bool write_outbox(std::int64_t seq);
  bool head_of(const std::string& stream, std::int64_t*& head);
  bool query_head(const std::string& stream, std::int64_t& head);
  bool run_step(sqlite::statement& stmt, const char* what);
  void revert_heads();
  void answer(std::vector<request>& work, std::size_t begin, std::size_t end);
  void answer_failed(std::vector<request>& work, std::size_t begin, std::size_t end);
  void latch(const std::string& reason);

  // Owned by the writer thread (statements after the connection: finalized before it closes).
  sqlite::connection db_;
  sqlite::statement begin_, commit_, rollback_, savepoint_, release_, rollback_to_;
  sqlite::statement insert_event_, stream_head_, insert_idempotency_;
  sqlite::statement update_outbox_;
  /// Last committed (or, inside a group, written) version per stream, loaded lazily.
  std::unordered_map<std::string, std::int64_t> heads_;
  /// Heads the current batch moved, with their previous value: undone when the batch conflicts.
  /// Pointers into heads_ stay valid on rehash; heads_ is only cleared between groups.
  std::vector<std::pair<std::int64_t*, std::int64_t>> undo_;
  std::vector<append_result> results_; ///< one slot per request of the current group
  std::string fatal_;                  ///< why the current group cannot commit
  const std::size_t max_batch_events_;

  // Shared with the callers.
  mutable std::mutex mutex_;
  std::condition_variable wake_;    ///< the writer: work arrived or stopping
  std::condition_variable drained_; ///< flush(): processed_ advanced
  std::vector<request> queue_;
  std::uint64_t submitted_ = 0; ///< requests ever queued (under mutex_)
  std::uint64_t processed_ = 0; ///< requests ever answered (under mutex_)
  bool stopping_ = false;
  std::optional<store_error> failure_; ///< under mutex_; failed_ mirrors it for the fast path
  std::atomic<bool> failed_{false};
  std::atomic<std::int64_t> last_seq_;
  std::atomic<std::int64_t> outbox_;
  std::mutex observer_mutex_;
  std::shared_ptr<const observer_fn> observer_;
  std::thread thread_; ///< last: starts once everything above exists
};

} // namespace flashsale
