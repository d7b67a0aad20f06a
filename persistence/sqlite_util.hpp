// Thin RAII over the SQLite C API for the event store: a connection owner, a statement that is
// prepared once and reused, and error texts. No exceptions: every call returns SQLite's rc.
// invariant: a statement never outlives its connection (declare it after the connection).
// Each connection is used by one thread at a time (opened with SQLITE_OPEN_NOMUTEX).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <sqlite3.h>

#include "persistence/event_store.hpp"

namespace flashsale::sqlite {

struct connection_closer {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using connection = std::unique_ptr<sqlite3, connection_closer>;

/// Opens `path` with `flags` (| SQLITE_OPEN_NOMUTEX) and a busy timeout. On failure `rc` is
/// set and the returned connection may still hold a handle that carries the error message.
connection open(const std::string& path, int flags, int busy_timeout_ms, int& rc);

/// "<what>: <sqlite message> (code <extended rc>)".
std::string message(sqlite3* db, const std::string& what);

/// Runs SQL without results (pragmas, DDL). Returns the rc; `error` gets the message.
int exec(sqlite3* db, const char* sql, std::string& error);

/// The store_errc of a failure while opening or reading: BUSY/LOCKED -> locked,
/// NOTADB -> bad_schema, anything else -> io_error.
store_errc open_errc(int rc);

/// A prepared statement, prepared once for the life of its connection.
class statement {
public:
  statement() = default;
  ~statement() { sqlite3_finalize(stmt_); }
  statement(statement&& other) noexcept : stmt_(other.stmt_) { other.stmt_ = nullptr; }
  statement& operator=(statement&& other) noexcept;
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;

  int prepare(sqlite3* db, const char* sql);
  bool prepared() const { return stmt_ != nullptr; }

  void bind(int index, std::int64_t value) { sqlite3_bind_int64(stmt_, index, value); }
  /// SQLITE_STATIC: `value` must stay unchanged until reset().
  void bind_static(int index, const std::string& value) {
    sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
  }
  int step() { return sqlite3_step(stmt_); }
  /// Ends the current execution and drops the bindings, so no SQLITE_STATIC pointer lingers.
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  std::int64_t column_int64(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::string column_text(int column) const;

private:
  sqlite3_stmt* stmt_ = nullptr;
};

/// Resets its statement at scope end, whatever path leaves the scope.
class reset_guard {
public:
  explicit reset_guard(statement& s) : s_(s) {}
  ~reset_guard() { s_.reset(); }
  reset_guard(const reset_guard&) = delete;
  reset_guard& operator=(const reset_guard&) = delete;

private:
  statement& s_;
};

} // namespace flashsale::sqlite
