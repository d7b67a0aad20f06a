// Helpers for the event store tests: open a store (failing the test on an error), build small
// batches, run SQL on a connection of their own (as another program would), and render stored
// events as one short string to compare (LevelDB's PrintContents). Header-only; used by the tests
// under tests/persistence only.
#pragma once

#include <memory>
#include <string>
#include <variant>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "persistence/event_store.hpp"
#include "persistence/sqlite_event_store.hpp"

namespace flashsale::testing {

inline std::unique_ptr<event_store> open_store(const std::string& path,
                                               sync_mode sync = sync_mode::full,
                                               std::size_t max_batch_events = 1000) {
  auto opened = open_sqlite_event_store(store_options{path, sync, max_batch_events});
  if (auto* error = std::get_if<store_error>(&opened)) {
    ADD_FAILURE() << "open " << path << ": " << to_string(error->code) << ": " << error->message;
    return nullptr;
  }
  return std::move(std::get<std::unique_ptr<event_store>>(opened));
}

inline store_error open_error(const std::string& path) {
  auto opened = open_sqlite_event_store(store_options{path});
  if (auto* error = std::get_if<store_error>(&opened))
    return *error;
  ADD_FAILURE() << "open " << path << " succeeded";
  return store_error{store_errc::store_failed, "opened"};
}

/// One stream append of `count` events "E" with data {"n":<first + i>}.
inline stream_append events_for(const std::string& stream, std::int64_t expected, int count = 1,
                                int first = 1) {
  stream_append sa{stream, expected, {}};
  for (int i = 0; i < count; ++i)
    sa.events.push_back(new_event{"E", "{\"n\":" + std::to_string(first + i) + "}", 1000 + i});
  return sa;
}

inline append_batch batch_of(stream_append sa) {
  append_batch b;
  b.streams.push_back(std::move(sa));
  return b;
}

/// "seq:stream@version:type:data" joined by spaces.
inline std::string render(const std::vector<envelope>& events) {
  std::string out;
  for (const auto& e : events) {
    if (!out.empty())
      out += ' ';
    out += std::to_string(e.seq) + ":" + e.stream + "@" + std::to_string(e.version) + ":" + e.type
           + ":" + e.data;
  }
  return out;
}

inline std::string error_text(const append_result& r) {
  return r.error ? std::string(to_string(r.error->code)) + ": " + r.error->message : "ok";
}

/// Runs one SQL statement on its own connection, as another program would.
inline void exec_outside(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
      << (error ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

/// The first column of the first row of `sql`, read on its own connection.
inline std::string query_outside(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open(path.c_str(), &db) == SQLITE_OK) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK
        && sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) != nullptr)
      out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
  }
  sqlite3_close(db);
  return out;
}

} // namespace flashsale::testing
