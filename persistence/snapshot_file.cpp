#include "persistence/snapshot_file.hpp"

#include <filesystem>

namespace flashsale {

std::string snapshot_file_path(const std::string& events_path) {
  const std::string suffix = ".db";
  if (events_path.size() > suffix.size()
      && events_path.compare(events_path.size() - suffix.size(), suffix.size(), suffix) == 0)
    return events_path.substr(0, events_path.size() - suffix.size()) + ".snapshots.db";
  return events_path + ".snapshots";
}

std::variant<std::unique_ptr<snapshot_file>, store_error>
snapshot_file::open(const std::string& path, bool read_only) {
  std::unique_ptr<snapshot_file> file(new snapshot_file);
  if (read_only && !std::filesystem::exists(path))
    return file; // no snapshot was ever taken: latest() answers nullopt
  int rc = SQLITE_OK;
  file->db_ = sqlite::open(
      path, read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 5000,
      rc);
  auto fail = [&](const std::string& what) {
    return store_error{sqlite::open_errc(rc), sqlite::message(file->db_.get(), what)};
  };
  if (rc != SQLITE_OK)
    return fail("open '" + path + "'");
  std::string error;
  if (!read_only) {
    for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL",
                            "CREATE TABLE IF NOT EXISTS snapshots(seq INTEGER PRIMARY KEY,"
                            " taken_at INTEGER NOT NULL, data TEXT NOT NULL)"})
      if ((rc = sqlite::exec(file->db_.get(), sql, error)) != SQLITE_OK)
        return store_error{sqlite::open_errc(rc), "'" + path + "': " + error};
    if ((rc = file->insert_.prepare(file->db_.get(), "INSERT OR REPLACE INTO snapshots"
                                                     "(seq, taken_at, data) VALUES(?1, ?2, ?3)"))
            != SQLITE_OK
        || (rc = file->prune_.prepare(file->db_.get(),
                                      "DELETE FROM snapshots WHERE seq < (SELECT seq FROM snapshots"
                                      " ORDER BY seq DESC LIMIT 1 OFFSET 1)"))
               != SQLITE_OK)
      return fail("prepare the snapshot writes of '" + path + "'");
  }
  if ((rc = file->latest_.prepare(file->db_.get(), "SELECT seq, taken_at, data FROM snapshots"
                                                   " ORDER BY seq DESC LIMIT 1"))
      != SQLITE_OK)
    return fail("read '" + path + "'");
  return file;
}

std::optional<store_error> snapshot_file::save(const snapshot& s) {
  std::lock_guard<std::mutex> guard{mutex_};
  if (!insert_.prepared())
    return store_error{store_errc::io_error, "the snapshot file is open read-only"};
  std::string error;
  if (sqlite::exec(db_.get(), "BEGIN", error) != SQLITE_OK)
    return store_error{store_errc::io_error, "begin a snapshot: " + error};
  bool ok;
  {
    sqlite::reset_guard reset(insert_);
    insert_.bind(1, s.seq);
    insert_.bind(2, s.taken_at);
    insert_.bind_static(3, s.data);
    ok = insert_.step() == SQLITE_DONE;
  }
  if (ok) {
    sqlite::reset_guard reset(prune_);
    ok = prune_.step() == SQLITE_DONE;
  }
  if (!ok) {
    auto message = sqlite::message(db_.get(), "write a snapshot");
    sqlite::exec(db_.get(), "ROLLBACK", error);
    return store_error{store_errc::io_error, message};
  }
  if (sqlite::exec(db_.get(), "COMMIT", error) != SQLITE_OK)
    return store_error{store_errc::io_error, "commit a snapshot: " + error};
  return std::nullopt;
}

std::optional<snapshot> snapshot_file::latest() {
  std::lock_guard<std::mutex> guard{mutex_};
  if (!db_)
    return std::nullopt;
  sqlite::reset_guard reset(latest_);
  if (latest_.step() != SQLITE_ROW)
    return std::nullopt;
  return snapshot{latest_.column_int64(0), latest_.column_int64(1), latest_.column_text(2)};
}

} // namespace flashsale
