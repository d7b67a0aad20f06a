// An event store in memory, with the SQLite store's semantics (group commit on a writer
// thread of its own, expected versions, a batch atomic on its own, the single-writer latch,
// a failed commit latching the store) and hooks to make it fail on purpose, as LevelDB's
// fault-injection env and nats-server's memstore do: tests drive the failure latch and the
// commit-queue paths deterministically, with no disk to fill. Nothing survives the object.
// Thread-safe, like every event_store.
#pragma once

#include <memory>

#include "persistence/event_store.hpp"

namespace flashsale {

class memory_event_store final : public event_store {
public:
  memory_event_store();
  ~memory_event_store() override;

  /// The `n`-th commit from now (1 = the next group the writer commits) fails as a full disk
  /// would: every batch of that group is answered store_failed and the store latches.
  void fail_commit(int n);
  /// Holds the writer before its next commit until resume(): appends queue up, so a test
  /// can decide what happens while they are "in flight".
  void pause();
  void resume();
  /// Commits done so far.
  std::int64_t commits() const;
  /// Appends waiting for the writer (while paused: all of them since pause()).
  std::size_t queued() const;

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

private:
  struct impl;
  std::unique_ptr<impl> self_;
};

} // namespace flashsale
