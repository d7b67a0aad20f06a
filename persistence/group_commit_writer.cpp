// The single writer of the event store (see group_commit_writer.hpp). The queue is taken
// whole under one lock swap; each group is BEGIN IMMEDIATE, one SAVEPOINT per append batch,
// COMMIT, and only then the answers. A version mismatch rolls back just its batch; any other
// failed write rolls back the group and latches the store as failed.
// Runs on the writer thread, except the enqueueing entry points and flush().
#include "persistence/group_commit_writer.hpp"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iterator>

namespace flashsale {
namespace {

/// Order streams accumulate without bound; past this many cached heads the cache is dropped
/// between groups and reloaded lazily (one indexed MAX per stream).
constexpr std::size_t max_cached_heads = 1 << 16;

std::string conflict_message(const std::string& stream, std::int64_t expected,
                             std::int64_t actual) {
  return "version conflict on stream '" + stream + "': expected version " + std::to_string(expected)
         + ", actual " + std::to_string(actual);
}

std::size_t event_count(const append_batch& batch) {
  std::size_t n = 0;
  for (const auto& sa : batch.streams)
    n += sa.events.size();
  return n;
}

/// A callback that throws must not take the writer thread (and every later waiter) with it.
template <class F, class... Args>
void invoke_guarded(F& fn, Args&&... args) noexcept {
  if (!fn)
    return;
  try {
    fn(std::forward<Args>(args)...);
  } catch (...) {
    std::fputs("flashsale: event store callback threw; ignored\n", stderr);
  }
}

} // namespace

std::variant<std::unique_ptr<group_commit_writer>, store_error>
group_commit_writer::start(sqlite::connection db, std::size_t max_batch_events,
                           std::int64_t last_seq, std::int64_t outbox_position) {
  std::unique_ptr<group_commit_writer> writer(
      new group_commit_writer(std::move(db), max_batch_events, last_seq, outbox_position));
  if (int rc = writer->prepare_all(); rc != SQLITE_OK) {
    // The schema was checked just before: a statement that does not prepare means a table
    // that is not what this build expects.
    auto code =
        sqlite::open_errc(rc) == store_errc::locked ? store_errc::locked : store_errc::bad_schema;
    return store_error{code, sqlite::message(writer->db_.get(), "prepare the writer's statements")};
  }
  writer->thread_ = std::thread([w = writer.get()] {
    pthread_setname_np(pthread_self(), "fs-writer"); // visible in top -H, perf, /proc
    w->run();
  });
  return writer;
}

group_commit_writer::group_commit_writer(sqlite::connection db, std::size_t max_batch_events,
                                         std::int64_t last_seq, std::int64_t outbox_position)
  : db_(std::move(db)), max_batch_events_(std::max<std::size_t>(1, max_batch_events)),
    last_seq_(last_seq), outbox_(outbox_position) {}

int group_commit_writer::prepare_all() {
  auto db = db_.get();
  const std::pair<sqlite::statement*, const char*> all[] = {
      {&begin_, "BEGIN IMMEDIATE"},
      {&commit_, "COMMIT"},
      {&rollback_, "ROLLBACK"},
      {&savepoint_, "SAVEPOINT batch"},
      {&release_, "RELEASE batch"},
      {&rollback_to_, "ROLLBACK TO batch"},
      {&insert_event_,
       "INSERT INTO events(stream, version, type, data, recorded_at) VALUES(?1, ?2, ?3, ?4, ?5)"},
      {&stream_head_, "SELECT COALESCE(MAX(version), 0) FROM events WHERE stream = ?1"},
      {&insert_idempotency_,
       "INSERT OR IGNORE INTO idempotency(user_id, key, request_hash, order_id, status, body,"
       " recorded_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
      {&update_outbox_, "UPDATE outbox SET published_seq = ?1 WHERE id = 1 AND published_seq < ?1"},
  };
  for (const auto& [stmt, sql] : all)
    if (int rc = stmt->prepare(db, sql); rc != SQLITE_OK)
      return rc;
  return SQLITE_OK;
}

void group_commit_writer::stop() {
  if (!thread_.joinable())
    return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

group_commit_writer::~group_commit_writer() {
  stop();
  // Leaves a short WAL behind; a failure here (e.g. a full disk) loses nothing committed.
  sqlite3_wal_checkpoint_v2(db_.get(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
}

void group_commit_writer::append(append_batch batch, std::function<void(append_result)> done) {
  enqueue(append_request{std::move(batch), std::move(done)});
}

void group_commit_writer::set_outbox_position(
    std::int64_t seq, std::function<void(std::optional<store_error>)> done) {
  enqueue(outbox_request{seq, std::move(done)});
}

void group_commit_writer::enqueue(request r) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(r));
    ++submitted_;
  }
  wake_.notify_one();
}

void group_commit_writer::flush() {
  if (std::this_thread::get_id() == thread_.get_id())
    return; // a callback cannot wait for the thread that runs it
  std::unique_lock<std::mutex> lock(mutex_);
  const auto target = submitted_;
  drained_.wait(lock, [&] { return processed_ >= target; });
}

void group_commit_writer::set_commit_observer(std::function<void(const commit_stats&)> observer) {
  auto shared = observer ? std::make_shared<const observer_fn>(std::move(observer)) : nullptr;
  std::lock_guard<std::mutex> lock(observer_mutex_);
  observer_ = std::move(shared);
}

std::optional<store_error> group_commit_writer::failure() const {
  if (!failed_.load(std::memory_order_acquire))
    return std::nullopt;
  std::lock_guard<std::mutex> lock(mutex_);
  return failure_;
}

void group_commit_writer::run() {
  std::vector<request> work;     // taken from queue_; [next, end) not yet committed
  std::vector<request> incoming; // swapped with queue_, so both keep their capacity
  std::size_t next = 0;
  for (;;) {
    if (next == work.size()) {
      work.clear();
      next = 0;
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty())
        return; // stopping, and everything queued was answered
      work.swap(queue_);
    } else {
      // A backlog of more than one group: what arrived meanwhile joins it, so the next group
      // is full rather than the short tail of the last swap (fewer, larger fsyncs).
      {
        std::lock_guard<std::mutex> lock(mutex_);
        incoming.swap(queue_);
      }
      if (!incoming.empty()) {
        work.erase(work.begin(), work.begin() + static_cast<std::ptrdiff_t>(next));
        next = 0;
        std::move(incoming.begin(), incoming.end(), std::back_inserter(work));
        incoming.clear();
      }
    }
    const auto end = group_end(work, next);
    commit_group(work, next, end);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      processed_ += end - next;
    }
    drained_.notify_all();
    next = end;
  }
}

std::size_t group_commit_writer::group_end(const std::vector<request>& work,
                                           std::size_t begin) const {
  std::size_t events = 0;
  auto i = begin;
  for (; i < work.size(); ++i) {
    std::size_t cost = 1;
    if (const auto* a = std::get_if<append_request>(&work[i]))
      cost = std::max<std::size_t>(1, event_count(a->batch));
    // One batch is never split, even when it alone exceeds the bound.
    if (i > begin && events + cost > max_batch_events_)
      break;
    events += cost;
  }
  return i;
}

void group_commit_writer::commit_group(std::vector<request>& work, std::size_t begin,
                                       std::size_t end) {
  if (failed_.load(std::memory_order_acquire)) {
    answer_failed(work, begin, end); // fail fast: the database is not touched again
    return;
  }
  if (heads_.size() > max_cached_heads)
    heads_.clear();
  const auto started = std::chrono::steady_clock::now();
  results_.clear();
  results_.resize(end - begin);
  commit_stats stats;
  stats.last_seq = last_seq_.load(std::memory_order_relaxed);
  auto outbox = outbox_.load(std::memory_order_relaxed);

  bool ok = run_step(begin_, "begin the group transaction");
  for (auto i = begin; ok && i < end; ++i) {
    auto& slot = results_[i - begin];
    if (auto* a = std::get_if<append_request>(&work[i])) {
      ok = write_append(a->batch, slot);
      if (ok && !slot.error && !slot.committed.empty()) {
        stats.events += slot.committed.size();
        stats.last_seq = slot.committed.back().seq;
      }
      stats.batches += ok && !slot.error ? 1 : 0;
    } else {
      auto& o = std::get<outbox_request>(work[i]);
      ok = write_outbox(o.seq);
      outbox = std::max(outbox, o.seq);
    }
  }
  if (ok)
    ok = run_step(commit_, "commit");
  if (!ok) {
    // SQLite may already have rolled back on its own (SQLITE_FULL, I/O errors).
    if (!sqlite3_get_autocommit(db_.get())) {
      rollback_.step();
      rollback_.reset();
    }
    heads_.clear(); // they may hold versions that were never committed
    latch(fatal_);
    answer_failed(work, begin, end);
    return;
  }
  stats.duration = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - started);
  last_seq_.store(stats.last_seq, std::memory_order_release);
  outbox_.store(outbox, std::memory_order_release);
  answer(work, begin, end);

  std::shared_ptr<const observer_fn> observer;
  {
    std::lock_guard<std::mutex> lock(observer_mutex_);
    observer = observer_;
  }
  if (observer)
    invoke_guarded(*observer, stats);
}

bool group_commit_writer::write_append(append_batch& batch, append_result& out) {
  // Pass 1: expected versions against the head cache. A mismatch writes nothing at all.
  undo_.clear();
  for (const auto& sa : batch.streams) {
    // Expected new (every order's first events): no lookup and no cache entry, since most
    // such streams are never appended to again soon. Should the stream exist after all, its
    // first insert hits UNIQUE(stream, version), and resolve_unique_violation reports the
    // conflict exactly as a lookup would have (a later append in the same transaction looks
    // the head up and sees this one's rows).
    if (sa.expected_version == 0 && !sa.single_writer)
      continue;
    std::int64_t* head = nullptr;
    if (!head_of(sa.stream, head))
      return false;
    if (*head != sa.expected_version) {
      revert_heads();
      if (sa.single_writer) { // see stream_append::single_writer: fail the group, latch
        fatal_ = "single-writer stream conflicted: "
                 + conflict_message(sa.stream, sa.expected_version, *head);
        return false;
      }
      out.error = store_error{store_errc::version_conflict,
                              conflict_message(sa.stream, sa.expected_version, *head)};
      return true;
    }
    undo_.emplace_back(head, *head);
    *head += static_cast<std::int64_t>(sa.events.size());
  }
  if (batch.streams.empty() && batch.idempotency.empty())
    return true;

  // Pass 2: the rows, under this batch's own savepoint. A batch of one row needs none: a
  // failed statement is undone by SQLite itself, and the savepoint costs as much as the insert.
  const auto events = event_count(batch);
  const bool savepoint = events + batch.idempotency.size() > 1;
  if (savepoint && !run_step(savepoint_, "begin the batch savepoint"))
    return false;
  out.committed.reserve(events);
  for (auto& sa : batch.streams) {
    auto version = sa.expected_version;
    const auto last = sa.events.empty() ? nullptr : &sa.events.back();
    for (auto& ev : sa.events) {
      ++version;
      insert_event_.bind_static(1, sa.stream);
      insert_event_.bind(2, version);
      insert_event_.bind_static(3, ev.type);
      insert_event_.bind_static(4, ev.data);
      insert_event_.bind(5, ev.recorded_at);
      const int rc = insert_event_.step();
      if (rc != SQLITE_DONE)
        fatal_ = sqlite::message(db_.get(), "insert into events");
      insert_event_.reset(); // drops the SQLITE_STATIC pointers before the strings move
      if (rc == SQLITE_CONSTRAINT_UNIQUE)
        return resolve_unique_violation(batch, sa, savepoint, out);
      if (rc != SQLITE_DONE)
        return false;
      // The batch is consumed: its strings move into the answer (the stream name, too, with
      // its last event), so a single-event append allocates nothing here but the vector.
      out.committed.push_back(envelope{sqlite3_last_insert_rowid(db_.get()),
                                       &ev == last ? std::move(sa.stream) : sa.stream, version,
                                       std::move(ev.type), std::move(ev.data), ev.recorded_at});
    }
  }
  for (const auto& rec : batch.idempotency) {
    sqlite::reset_guard guard(insert_idempotency_);
    insert_idempotency_.bind_static(1, rec.user_id);
    insert_idempotency_.bind_static(2, rec.key);
    insert_idempotency_.bind_static(3, rec.request_hash);
    insert_idempotency_.bind_static(4, rec.order_id);
    insert_idempotency_.bind(5, rec.status);
    insert_idempotency_.bind_static(6, rec.body);
    insert_idempotency_.bind(7, rec.recorded_at);
    if (insert_idempotency_.step() != SQLITE_DONE) {
      fatal_ = sqlite::message(db_.get(), "insert into idempotency");
      return false;
    }
  }
  return !savepoint || run_step(release_, "release the batch savepoint");
}

bool group_commit_writer::resolve_unique_violation(const append_batch& batch,
                                                   const stream_append& sa, bool savepoint,
                                                   append_result& out) {
  // An expected-new stream existed (or the head cache was stale: only possible if something
  // else wrote the file): the UNIQUE constraint is the backstop. Undo this batch alone and
  // learn the real head.
  revert_heads();
  if (savepoint
      && (!run_step(rollback_to_, "roll back the batch savepoint")
          || !run_step(release_, "release the batch savepoint")))
    return false;
  std::int64_t actual = 0;
  if (!query_head(sa.stream, actual))
    return false;
  heads_[sa.stream] = actual;
  for (const auto& other : batch.streams)
    if (other.single_writer) { // its writer applied this batch already: see single_writer
      fatal_ = "single-writer stream's batch conflicted: "
               + conflict_message(sa.stream, sa.expected_version, actual);
      return false;
    }
  out.committed.clear();
  out.error = store_error{store_errc::version_conflict,
                          conflict_message(sa.stream, sa.expected_version, actual)};
  return true;
}

bool group_commit_writer::write_outbox(std::int64_t seq) {
  update_outbox_.bind(1, seq);
  return run_step(update_outbox_, "update the outbox position");
}

bool group_commit_writer::head_of(const std::string& stream, std::int64_t*& head) {
  auto it = heads_.find(stream);
  if (it == heads_.end()) {
    std::int64_t loaded = 0;
    if (!query_head(stream, loaded))
      return false;
    it = heads_.emplace(stream, loaded).first;
  }
  head = &it->second;
  return true;
}

bool group_commit_writer::query_head(const std::string& stream, std::int64_t& head) {
  sqlite::reset_guard guard(stream_head_);
  stream_head_.bind_static(1, stream);
  if (stream_head_.step() != SQLITE_ROW) {
    fatal_ = sqlite::message(db_.get(), "read the head of stream '" + stream + "'");
    return false;
  }
  head = stream_head_.column_int64(0);
  return true;
}

bool group_commit_writer::run_step(sqlite::statement& stmt, const char* what) {
  const int rc = stmt.step();
  if (rc != SQLITE_DONE)
    fatal_ = sqlite::message(db_.get(), what); // before reset(), which may change the message
  stmt.reset();
  return rc == SQLITE_DONE;
}

void group_commit_writer::revert_heads() {
  for (auto it = undo_.rbegin(); it != undo_.rend(); ++it)
    *it->first = it->second;
  undo_.clear();
}

void group_commit_writer::answer(std::vector<request>& work, std::size_t begin, std::size_t end) {
  for (auto i = begin; i < end; ++i) {
    auto& result = results_[i - begin];
    if (auto* a = std::get_if<append_request>(&work[i]))
      invoke_guarded(a->done, std::move(result));
    else
      invoke_guarded(std::get<outbox_request>(work[i]).done, std::move(result.error));
  }
}

void group_commit_writer::answer_failed(std::vector<request>& work, std::size_t begin,
                                        std::size_t end) {
  const auto error = failure();
  for (auto i = begin; i < end; ++i) {
    if (auto* a = std::get_if<append_request>(&work[i]))
      invoke_guarded(a->done, append_result{error, {}});
    else
      invoke_guarded(std::get<outbox_request>(work[i]).done, error);
  }
}

void group_commit_writer::latch(const std::string& reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!failure_)
    failure_ = store_error{store_errc::store_failed,
                           "commit failed, the store refuses every later write: " + reason};
  failed_.store(true, std::memory_order_release);
}

} // namespace flashsale
