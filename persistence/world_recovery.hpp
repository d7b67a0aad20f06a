// Rebuilding the world from the log: the latest snapshot (when usable) plus every event after
// it, folded with the same `apply` the live actors use. Used by node start-up and by
// `flashsale replay`. invariant: the event at the snapshot's own seq is never applied again
// (the fold resumes at seq > snapshot.seq). Runs on the calling thread; reads only.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "events/world.hpp"
#include "persistence/event_store.hpp"

namespace flashsale {

/// Where the events come from: an open event_store, or a read-only reader of a store file.
struct log_source {
  std::function<std::vector<envelope>(std::int64_t after_seq, std::size_t limit)> read_from;
  std::function<std::optional<snapshot>()> latest_snapshot;
  /// The log's last seq, when known: a snapshot beyond it (the log lost its tail to a power
  /// cut with store.sync=normal, the snapshot file did not) is not used.
  std::function<std::int64_t()> last_seq;
};

template <class Store>
log_source log_source_of(Store& store) {
  return {[&store](std::int64_t after, std::size_t limit) { return store.read_from(after, limit); },
          [&store] { return store.latest_snapshot(); }, [&store] { return store.last_seq(); }};
}

struct recovery_options {
  bool use_snapshot = true;
  /// Drop finished orders once settled (the node's mode; snapshots are taken this way).
  bool forget_settled_orders = true;
  /// Stop after this seq (replay --at); nullopt = the whole log.
  std::optional<std::int64_t> up_to_seq;
  /// Called after each folded event (replay --verify names the first offending seq).
  std::function<void(const envelope&, const world&)> after_each;
};

struct recovered_world {
  world state;
  std::optional<std::int64_t> snapshot_seq; ///< the snapshot the fold started from, if any
  std::string snapshot_problem;             ///< why a snapshot was present but not used
  std::int64_t events_folded = 0;           ///< events applied after the snapshot
};

recovered_world recover_world(const log_source& log, const recovery_options& options);

} // namespace flashsale
