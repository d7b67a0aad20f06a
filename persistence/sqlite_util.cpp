// Thin RAII over the SQLite C API (see sqlite_util.hpp). Runs on whichever thread owns the
// connection at the time.
#include "persistence/sqlite_util.hpp"

namespace flashsale::sqlite {

connection open(const std::string& path, int flags, int busy_timeout_ms, int& rc) {
  sqlite3* raw = nullptr;
  rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  connection db(raw);
  if (rc == SQLITE_OK) {
    sqlite3_extended_result_codes(raw, 1);
    rc = sqlite3_busy_timeout(raw, busy_timeout_ms);
  }
  return db;
}

std::string message(sqlite3* db, const std::string& what) {
  if (db == nullptr)
    return what + ": out of memory";
  return what + ": " + sqlite3_errmsg(db) + " (code " + std::to_string(sqlite3_extended_errcode(db))
         + ")";
}

int exec(sqlite3* db, const char* sql, std::string& error) {
  char* text = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &text);
  if (rc != SQLITE_OK)
    error = text != nullptr ? text : sqlite3_errstr(rc);
  sqlite3_free(text);
  return rc;
}

store_errc open_errc(int rc) {
  switch (rc & 0xff) {
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return store_errc::locked;
  case SQLITE_NOTADB:
    return store_errc::bad_schema;
  default:
    return store_errc::io_error;
  }
}

statement& statement::operator=(statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = other.stmt_;
    other.stmt_ = nullptr;
  }
  return *this;
}

int statement::prepare(sqlite3* db, const char* sql) {
  sqlite3_finalize(stmt_);
  stmt_ = nullptr;
  return sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
}

std::string statement::column_text(int column) const {
  // text before bytes: sqlite3_column_bytes then measures the UTF-8 form just produced.
  auto text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column));
  return text != nullptr ? std::string(text, size) : std::string();
}

} // namespace flashsale::sqlite
