// The read side of the SQLite event store: a small mutex-guarded pool of read-only
// connections, each with its queries prepared once, so HTTP workers and actors read while the
// writer writes (WAL: a reader sees the last commit before its statement began, never blocks).
// invariant: a connection is used by one thread at a time and is never the write connection.
// Runs on the calling thread; any number of threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "persistence/event_store.hpp"
#include "persistence/sqlite_util.hpp"

namespace flashsale {

class sqlite_reader_pool {
public:
  /// Keeps at most `max_idle` connections open between reads; more are opened under load.
  sqlite_reader_pool(std::string path, std::size_t max_idle);
  ~sqlite_reader_pool();
  sqlite_reader_pool(const sqlite_reader_pool&) = delete;
  sqlite_reader_pool& operator=(const sqlite_reader_pool&) = delete;

  // The event_store read methods. A failed read_from (the file vanished, I/O error) gives an
  // empty answer (recovery then stops short of last_seq and refuses to start; followers retry);
  // read_stream reports the error.
  std::vector<envelope> read_from(std::int64_t after_seq, std::size_t limit);
  stream_read read_stream(const std::string& stream, std::int64_t after_version);
  std::int64_t stream_version(const std::string& stream);
  std::optional<idempotency_record> find_idempotency(const std::string& user_id,
                                                     const std::string& key);
  bool visit_idempotency_keys(const std::function<void(std::string_view, std::string_view)>& visit);

private:
  struct reader;
  struct reader_deleter {
    void operator()(reader* r) const;
  };
  using reader_ptr = std::unique_ptr<reader, reader_deleter>;

  /// An idle connection, or a new one; null when none can be opened.
  reader_ptr acquire();
  /// Returns a healthy connection to the pool; a reader that saw an error is closed instead.
  void release(reader_ptr r, bool healthy);
  stream_read read_envelopes(sqlite::statement reader::*query,
                             const std::function<void(sqlite::statement&)>& bind);

  const std::string path_;
  const std::size_t max_idle_;
  std::mutex mutex_;
  std::vector<reader_ptr> idle_;
};

} // namespace flashsale
