// The event store on one SQLite file in WAL mode: a group-commit writer thread plus a pool of
// read-only connections. The schema is written out in sqlite_event_store.cpp.
// invariant: one process writes the file at a time; the node holds the data-dir lock
// (persistence/data_dir.hpp) for as long as the store is open.
#pragma once

#include <memory>
#include <variant>

#include "persistence/event_store.hpp"

namespace flashsale {

/// Opens (creating if needed) `options.path` (e.g. "<data_dir>/events.db"). Errors are typed,
/// never thrown: io_error (cannot open or create), locked (another connection holds the
/// database), bad_schema (not a flashsale store, or a newer schema version).
std::variant<std::unique_ptr<event_store>, store_error>
open_sqlite_event_store(const store_options& options);

} // namespace flashsale
