// Snapshots off the hot path: a thread that follows the committed log with its own world
// fold (the same apply as everything else) and, every `every` events (or every as many events
// as the snapshot has entries, when that is more), hands the store a snapshot of it, so recovery
// and replay start near the end of the log instead of at seq 0. It never touches the actors' state
// and never blocks a commit: the snapshot goes to a file of its own beside the log
// (persistence/snapshot_file.hpp), written on this thread. Runs at the lowest CPU priority, so
// during a burst it falls behind rather than slow requests down.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "events/world.hpp"

namespace flashsale {

class event_store;

class snapshotter {
public:
  /// Starts following the log after `recovered` (the world the node started from).
  /// `bounded_tail`: a snapshot every `every` events whatever the world's size (cluster mode:
  /// a new owner reads at most that many events after the snapshot, at the price of encoding
  /// the world more often); otherwise every max(`every`, the world's entries) events.
  snapshotter(event_store& store, world recovered, std::int64_t every, bool bounded_tail = false);
  ~snapshotter();
  snapshotter(const snapshotter&) = delete;
  snapshotter& operator=(const snapshotter&) = delete;

  /// The log now ends at `committed_seq` (cheap; called from the commit observer). The
  /// thread is woken only once a batch worth folding has gathered: woken per commit, it read
  /// a few events per wake-up with cold caches, at ~6 µs per event (10x replay's cost).
  void wake(std::int64_t committed_seq);
  /// Snapshots written so far (tests, metrics).
  std::int64_t written() const;

private:
  void run();

  event_store& store_;
  world world_;
  const std::int64_t every_;
  const bool bounded_tail_;
  const std::int64_t wake_after_; ///< unfolded events that justify a wake-up
  std::atomic<std::int64_t> folded_seq_{0};
  std::int64_t since_snapshot_ = 0;
  std::chrono::steady_clock::time_point last_snapshot_{};
  std::chrono::steady_clock::duration last_encode_{0};
  mutable std::mutex mutex_;
  std::condition_variable wakeup_;
  bool stop_ = false;
  bool pending_ = false;
  std::int64_t written_ = 0;
  std::thread thread_;
};

} // namespace flashsale
