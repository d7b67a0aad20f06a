// Snapshots beside the log, in a SQLite file of their own next to the events file
// ("<data_dir>/events.snapshots.db"), written on the caller's thread (the snapshotter's) with
// its own connection. A snapshot of a busy node is megabytes; inside the event store's group
// commit it stalled every order waiting on that commit (p99 7.7 ms -> 114 ms measured).
// A cache, not a source of truth: synchronous=NORMAL (a snapshot lost to a power cut only
// means a longer replay); the latest two are kept. Schema:
//   snapshots(seq INTEGER PRIMARY KEY, taken_at INTEGER NOT NULL, data TEXT NOT NULL)
// Thread-safe (one mutex: snapshots are rare).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>

#include "persistence/event_store.hpp"
#include "persistence/sqlite_util.hpp"

namespace flashsale {

/// "<dir>/events.snapshots.db" for "<dir>/events.db" (any other name gets ".snapshots").
std::string snapshot_file_path(const std::string& events_path);

class snapshot_file {
public:
  /// Opens (creating unless `read_only`) the file at `path`. A read-only open of a file that
  /// does not exist succeeds and simply has no snapshot.
  static std::variant<std::unique_ptr<snapshot_file>, store_error> open(const std::string& path,
                                                                        bool read_only);

  std::optional<store_error> save(const snapshot& s);
  std::optional<snapshot> latest();

private:
  snapshot_file() = default;

  std::mutex mutex_;
  sqlite::connection db_; // first: the statements below are finalized before it closes
  sqlite::statement insert_, prune_, latest_;
};

} // namespace flashsale
