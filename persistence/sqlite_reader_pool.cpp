// The read side of the SQLite event store (see sqlite_reader_pool.hpp). Every read is one
// SELECT, so it sees one consistent commit. Runs on the calling thread.
#include "persistence/sqlite_reader_pool.hpp"

#include <algorithm>
#include <functional>
#include <limits>

namespace flashsale {

struct sqlite_reader_pool::reader {
  sqlite::connection db; // first: the statements below are finalized before it closes
  sqlite::statement read_from, read_stream, stream_version, find_idempotency, idempotency_keys;
};

void sqlite_reader_pool::reader_deleter::operator()(reader* r) const {
  delete r;
}

sqlite_reader_pool::sqlite_reader_pool(std::string path, std::size_t max_idle)
  : path_(std::move(path)), max_idle_(max_idle) {}

sqlite_reader_pool::~sqlite_reader_pool() = default;

sqlite_reader_pool::reader_ptr sqlite_reader_pool::acquire() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!idle_.empty()) {
      auto r = std::move(idle_.back());
      idle_.pop_back();
      return r;
    }
  }
  int rc = SQLITE_OK;
  reader_ptr r(new reader);
  r->db = sqlite::open(path_, SQLITE_OPEN_READONLY, 5000, rc);
  if (rc != SQLITE_OK)
    return nullptr;
  auto db = r->db.get();
  const char* columns = "SELECT seq, stream, version, type, data, recorded_at FROM events";
  const std::string from = std::string(columns) + " WHERE seq > ?1 ORDER BY seq LIMIT ?2";
  const std::string stream =
      std::string(columns) + " WHERE stream = ?1 AND version > ?2 ORDER BY version";
  if (r->read_from.prepare(db, from.c_str()) != SQLITE_OK
      || r->read_stream.prepare(db, stream.c_str()) != SQLITE_OK
      || r->stream_version.prepare(db,
                                   "SELECT COALESCE(MAX(version), 0) FROM events WHERE stream = ?1")
             != SQLITE_OK
      || r->find_idempotency.prepare(db, "SELECT request_hash, order_id, status, body, recorded_at"
                                         " FROM idempotency WHERE user_id = ?1 AND key = ?2")
             != SQLITE_OK
      || r->idempotency_keys.prepare(db, "SELECT user_id, key FROM idempotency") != SQLITE_OK)
    return nullptr;
  return r;
}

void sqlite_reader_pool::release(reader_ptr r, bool healthy) {
  if (!healthy)
    return; // closed here: a fresh connection replaces it on demand
  std::lock_guard<std::mutex> lock(mutex_);
  if (idle_.size() < max_idle_)
    idle_.push_back(std::move(r));
}

stream_read
sqlite_reader_pool::read_envelopes(sqlite::statement reader::*query,
                                   const std::function<void(sqlite::statement&)>& bind) {
  stream_read out;
  auto r = acquire();
  if (!r) {
    out.error = store_error{store_errc::io_error, "cannot open a reader on '" + path_ + "'"};
    return out;
  }
  auto& stmt = (*r).*query;
  int rc = SQLITE_OK;
  {
    sqlite::reset_guard guard(stmt);
    bind(stmt);
    while ((rc = stmt.step()) == SQLITE_ROW)
      out.events.push_back(envelope{stmt.column_int64(0), stmt.column_text(1), stmt.column_int64(2),
                                    stmt.column_text(3), stmt.column_text(4),
                                    stmt.column_int64(5)});
    if (rc != SQLITE_DONE)
      out.error = store_error{sqlite::open_errc(rc), sqlite::message(r->db.get(), "read events")};
  }
  const bool healthy = !out.error;
  if (!healthy)
    out.events.clear(); // a partial stream would rebuild a wrong state; nothing is safer
  release(std::move(r), healthy);
  return out;
}

std::vector<envelope> sqlite_reader_pool::read_from(std::int64_t after_seq, std::size_t limit) {
  if (limit == 0)
    return {};
  const auto bounded = static_cast<std::int64_t>(
      std::min<std::size_t>(limit, std::numeric_limits<std::int64_t>::max()));
  return read_envelopes(&reader::read_from,
                        [&](sqlite::statement& s) {
                          s.bind(1, after_seq);
                          s.bind(2, bounded);
                        })
      .events;
}

stream_read sqlite_reader_pool::read_stream(const std::string& stream, std::int64_t after_version) {
  return read_envelopes(&reader::read_stream, [&](sqlite::statement& s) {
    s.bind_static(1, stream);
    s.bind(2, after_version);
  });
}

std::int64_t sqlite_reader_pool::stream_version(const std::string& stream) {
  auto r = acquire();
  if (!r)
    return 0;
  std::int64_t version = 0;
  int rc = SQLITE_OK;
  {
    sqlite::reset_guard guard(r->stream_version);
    r->stream_version.bind_static(1, stream);
    if ((rc = r->stream_version.step()) == SQLITE_ROW)
      version = r->stream_version.column_int64(0);
  }
  release(std::move(r), rc == SQLITE_ROW);
  return version;
}

std::optional<idempotency_record> sqlite_reader_pool::find_idempotency(const std::string& user_id,
                                                                       const std::string& key) {
  auto r = acquire();
  if (!r)
    return std::nullopt;
  std::optional<idempotency_record> found;
  int rc = SQLITE_OK;
  {
    auto& s = r->find_idempotency;
    sqlite::reset_guard guard(s);
    s.bind_static(1, user_id);
    s.bind_static(2, key);
    if ((rc = s.step()) == SQLITE_ROW)
      found = idempotency_record{user_id,
                                 key,
                                 s.column_text(0),
                                 s.column_text(1),
                                 static_cast<int>(s.column_int64(2)),
                                 s.column_text(3),
                                 s.column_int64(4)};
  }
  release(std::move(r), rc == SQLITE_ROW || rc == SQLITE_DONE);
  return found;
}

bool sqlite_reader_pool::visit_idempotency_keys(
    const std::function<void(std::string_view, std::string_view)>& visit) {
  auto r = acquire();
  if (!r)
    return false;
  int rc = SQLITE_OK;
  {
    auto& s = r->idempotency_keys;
    sqlite::reset_guard guard(s);
    while ((rc = s.step()) == SQLITE_ROW)
      visit(s.column_text(0), s.column_text(1));
  }
  release(std::move(r), rc == SQLITE_DONE);
  return rc == SQLITE_DONE;
}

} // namespace flashsale
