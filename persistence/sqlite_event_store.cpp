// The SQLite event store: opens the file, creates or checks the schema, then hands writes to
// the group-commit writer and reads to the reader pool. Schema version 1 (WAL mode):
//   events(seq INTEGER PRIMARY KEY, stream TEXT NOT NULL, version INTEGER NOT NULL,
//          type TEXT NOT NULL, data TEXT NOT NULL, recorded_at INTEGER NOT NULL,
//          UNIQUE(stream, version))                     -- append-only; never UPDATE or DELETE
//   meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)      -- 'store_id' (16 hex), 'schema_version'
//   idempotency(user_id TEXT NOT NULL, key TEXT NOT NULL, request_hash TEXT NOT NULL,
//               order_id TEXT NOT NULL, status INTEGER NOT NULL, body TEXT NOT NULL,
//               recorded_at INTEGER NOT NULL, PRIMARY KEY(user_id, key))  -- first answer wins
//   outbox(id INTEGER PRIMARY KEY CHECK (id = 1), published_seq INTEGER NOT NULL)  -- one row
// Snapshots live in a file of their own beside this one (persistence/snapshot_file.hpp).
// invariant: a file with a newer schema_version, or tables but no meta, is refused (bad_schema).
// open runs on the caller's thread; the returned store is thread-safe.
#include "persistence/sqlite_event_store.hpp"

#include <sys/random.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <set>

#include "persistence/group_commit_writer.hpp"
#include "persistence/read_queue.hpp"
#include "persistence/snapshot_file.hpp"
#include "persistence/sqlite_reader_pool.hpp"

namespace flashsale {
namespace {

constexpr int schema_version = 1;
constexpr std::size_t max_idle_readers = 8;
constexpr int writer_busy_timeout_ms = 2000;

constexpr const char* create_schema = R"sql(
CREATE TABLE events(seq INTEGER PRIMARY KEY, stream TEXT NOT NULL, version INTEGER NOT NULL,
  type TEXT NOT NULL, data TEXT NOT NULL, recorded_at INTEGER NOT NULL, UNIQUE(stream, version));
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE idempotency(user_id TEXT NOT NULL, key TEXT NOT NULL, request_hash TEXT NOT NULL,
  order_id TEXT NOT NULL, status INTEGER NOT NULL, body TEXT NOT NULL,
  recorded_at INTEGER NOT NULL, PRIMARY KEY(user_id, key));
CREATE TABLE outbox(id INTEGER PRIMARY KEY CHECK (id = 1), published_seq INTEGER NOT NULL);
INSERT INTO outbox(id, published_seq) VALUES(1, 0);
)sql";

class sqlite_event_store final : public event_store {
public:
  sqlite_event_store(std::string store_id, std::unique_ptr<group_commit_writer> writer,
                     std::unique_ptr<sqlite_reader_pool> readers,
                     std::unique_ptr<snapshot_file> snapshots)
    : store_id_(std::move(store_id)), writer_(std::move(writer)), readers_(std::move(readers)),
      snapshots_(std::move(snapshots)) {}

  ~sqlite_event_store() override {
    async_reads_.reset(); // queued reads finish while the readers are open
    writer_->stop();      // callbacks still running may read: the readers outlive the queue
    readers_.reset();     // no open reader may hold back the TRUNCATE checkpoint
    writer_.reset();
  }

  void append(append_batch batch, std::function<void(append_result)> done) override {
    writer_->append(std::move(batch), std::move(done));
  }
  std::vector<envelope> read_from(std::int64_t after_seq, std::size_t limit) override {
    return readers_->read_from(after_seq, limit);
  }
  stream_read read_stream(const std::string& stream, std::int64_t after_version) override {
    return readers_->read_stream(stream, after_version);
  }
  std::int64_t stream_version(const std::string& stream) override {
    return readers_->stream_version(stream);
  }
  std::int64_t last_seq() override { return writer_->last_seq(); }
  std::optional<idempotency_record> find_idempotency(const std::string& user_id,
                                                     const std::string& key) override {
    return readers_->find_idempotency(user_id, key);
  }
  bool visit_idempotency_keys(
      const std::function<void(std::string_view, std::string_view)>& visit) override {
    return readers_->visit_idempotency_keys(visit);
  }
  void run_read(std::function<void()> job) override { async_reads_->post(std::move(job)); }
  void save_snapshot(snapshot s, std::function<void(std::optional<store_error>)> done) override {
    // A snapshot of a failed store may describe events that never committed.
    auto error = writer_->failure();
    if (!error)
      error = snapshots_->save(s);
    if (done)
      done(std::move(error));
  }
  std::optional<snapshot> latest_snapshot() override { return snapshots_->latest(); }
  std::int64_t outbox_position() override { return writer_->outbox_position(); }
  void set_outbox_position(std::int64_t seq,
                           std::function<void(std::optional<store_error>)> done) override {
    writer_->set_outbox_position(seq, std::move(done));
  }
  const std::string& store_id() const override { return store_id_; }
  std::optional<store_error> failure() const override { return writer_->failure(); }
  void set_commit_observer(std::function<void(const commit_stats&)> observer) override {
    writer_->set_commit_observer(std::move(observer));
  }
  void flush() override { writer_->flush(); }

private:
  const std::string store_id_;
  std::unique_ptr<group_commit_writer> writer_;
  std::unique_ptr<sqlite_reader_pool> readers_;
  std::unique_ptr<snapshot_file> snapshots_;
  std::unique_ptr<read_queue> async_reads_ = std::make_unique<read_queue>();
};

std::string new_store_id() {
  std::uint64_t bits = 0;
  if (::getrandom(&bits, sizeof bits, 0) != static_cast<ssize_t>(sizeof bits)) {
    // No entropy source (very old kernel): still distinct between stores made here.
    bits = static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count())
               * 0x9E3779B97F4A7C15ull
           ^ static_cast<std::uint64_t>(::getpid());
  }
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(bits));
  return text;
}

bool is_store_id(const std::string& id) {
  if (id.size() != 16)
    return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

store_error open_error(sqlite3* db, int rc, const std::string& what) {
  return store_error{sqlite::open_errc(rc), sqlite::message(db, what)};
}

/// Runs a query that yields at most one row; `row` reads it. SQLITE_OK when there was a row,
/// SQLITE_DONE when there was none, else the error.
template <class F>
int query_one(sqlite3* db, const char* sql, const std::string& param, F&& row) {
  sqlite::statement s;
  if (int rc = s.prepare(db, sql); rc != SQLITE_OK)
    return rc;
  if (!param.empty())
    s.bind_static(1, param);
  int rc = s.step();
  if (rc == SQLITE_ROW)
    row(s);
  s.reset();
  return rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/// Creates the schema in an empty file, or checks an existing one. Inside the caller's
/// BEGIN IMMEDIATE, so two openers never both create it.
std::optional<store_error> ensure_schema(sqlite3* db, const std::string& path,
                                         std::string& store_id) {
  std::set<std::string> tables;
  {
    sqlite::statement s;
    int rc = s.prepare(db, "SELECT name FROM sqlite_master WHERE type = 'table'"
                           " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'");
    if (rc == SQLITE_OK)
      while ((rc = s.step()) == SQLITE_ROW)
        tables.insert(s.column_text(0));
    if (rc != SQLITE_DONE)
      return open_error(db, rc, "read the schema of '" + path + "'");
  }
  std::string error;
  if (tables.empty()) {
    store_id = new_store_id();
    const std::string meta = "INSERT INTO meta(key, value) VALUES('store_id', '" + store_id
                             + "'), ('schema_version', '" + std::to_string(schema_version) + "')";
    if (int rc = sqlite::exec(db, create_schema, error); rc != SQLITE_OK)
      return store_error{sqlite::open_errc(rc), "create the schema in '" + path + "': " + error};
    if (int rc = sqlite::exec(db, meta.c_str(), error); rc != SQLITE_OK)
      return store_error{sqlite::open_errc(rc), "write meta in '" + path + "': " + error};
    return std::nullopt;
  }
  auto bad = [&](const std::string& why) {
    return store_error{store_errc::bad_schema, "'" + path + "' " + why};
  };
  if (!tables.count("meta"))
    return bad("has tables but no meta table: not a flashsale event store");
  std::string version_text;
  const char* read_meta = "SELECT value FROM meta WHERE key = ?1";
  auto text_of = [](std::string& out) {
    return [&out](sqlite::statement& s) { out = s.column_text(0); };
  };
  if (int rc = query_one(db, read_meta, "schema_version", text_of(version_text));
      rc != SQLITE_OK && rc != SQLITE_DONE) // no row: reported below as an invalid version
    return open_error(db, rc, "read the schema version of '" + path + "'");
  if (version_text != std::to_string(schema_version)) {
    if (version_text.empty() || version_text.find_first_not_of("0123456789") != std::string::npos)
      return bad("has no valid schema_version ('" + version_text + "')");
    return bad("has schema version " + version_text + "; this build reads version "
               + std::to_string(schema_version) + " only");
  }
  for (const char* t : {"events", "idempotency", "outbox"})
    if (!tables.count(t))
      return bad(std::string("lacks the table '") + t + "'");
  if (int rc = query_one(db, read_meta, "store_id", text_of(store_id));
      rc != SQLITE_OK && rc != SQLITE_DONE)
    return open_error(db, rc, "read the store id of '" + path + "'");
  if (!is_store_id(store_id))
    return bad("has no valid store_id ('" + store_id + "')");
  return std::nullopt;
}

} // namespace

std::variant<std::unique_ptr<event_store>, store_error>
open_sqlite_event_store(const store_options& options) {
  const auto& path = options.path;
  int rc = SQLITE_OK;
  auto db =
      sqlite::open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, writer_busy_timeout_ms, rc);
  if (rc != SQLITE_OK)
    return open_error(db.get(), rc, "open '" + path + "'");

  // journal_mode answers with the mode in force: anything but "wal" (e.g. a file system
  // without shared memory) would silently lose concurrent reads and group commit semantics.
  std::string mode;
  rc = query_one(db.get(), "PRAGMA journal_mode=WAL", {},
                 [&](sqlite::statement& s) { mode = s.column_text(0); });
  if (rc != SQLITE_OK)
    return open_error(db.get(), rc, "set WAL mode on '" + path + "'");
  if (mode != "wal")
    return store_error{store_errc::io_error, "'" + path + "' cannot use WAL (mode " + mode + ")"};
  std::string error;
  const char* sync =
      options.sync == sync_mode::full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL";
  if ((rc = sqlite::exec(db.get(), sync, error)) != SQLITE_OK)
    return store_error{sqlite::open_errc(rc), "set synchronous on '" + path + "': " + error};

  if ((rc = sqlite::exec(db.get(), "BEGIN IMMEDIATE", error)) != SQLITE_OK)
    return store_error{sqlite::open_errc(rc), "lock '" + path + "' for writing: " + error};
  std::string store_id;
  auto schema_error = ensure_schema(db.get(), path, store_id);
  if (schema_error) {
    sqlite::exec(db.get(), "ROLLBACK", error);
    return *schema_error;
  }
  if ((rc = sqlite::exec(db.get(), "COMMIT", error)) != SQLITE_OK)
    return store_error{sqlite::open_errc(rc), "commit the schema of '" + path + "': " + error};

  std::int64_t last_seq = 0, outbox = 0;
  rc = query_one(db.get(), "SELECT COALESCE(MAX(seq), 0) FROM events", {},
                 [&](sqlite::statement& s) { last_seq = s.column_int64(0); });
  if (rc == SQLITE_OK)
    rc = query_one(db.get(), "SELECT published_seq FROM outbox WHERE id = 1", {},
                   [&](sqlite::statement& s) { outbox = s.column_int64(0); });
  if (rc == SQLITE_DONE)
    return store_error{store_errc::bad_schema, "'" + path + "' has no outbox row"};
  if (rc != SQLITE_OK)
    return open_error(db.get(), rc, "read the positions in '" + path + "'");

  auto started =
      group_commit_writer::start(std::move(db), options.max_batch_events, last_seq, outbox);
  if (auto* failed = std::get_if<store_error>(&started))
    return *failed;
  auto readers = std::make_unique<sqlite_reader_pool>(path, max_idle_readers);
  auto snapshots = snapshot_file::open(snapshot_file_path(path), /*read_only=*/false);
  if (auto* failed = std::get_if<store_error>(&snapshots))
    return *failed;
  return std::unique_ptr<event_store>(
      new sqlite_event_store(std::move(store_id), std::move(std::get<0>(started)),
                             std::move(readers), std::move(std::get<0>(snapshots))));
}

} // namespace flashsale
