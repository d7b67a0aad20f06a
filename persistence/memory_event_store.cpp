#include "persistence/memory_event_store.hpp"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <variant>

#include "persistence/read_queue.hpp"

namespace flashsale {

namespace {

struct append_request {
  append_batch batch;
  std::function<void(append_result)> done;
};
struct outbox_request {
  std::int64_t seq;
  std::function<void(std::optional<store_error>)> done;
};
using request = std::variant<append_request, outbox_request>;

std::string conflict(const std::string& stream, std::int64_t expected, std::int64_t actual) {
  return "version conflict on stream '" + stream + "': expected version " + std::to_string(expected)
         + ", actual " + std::to_string(actual);
}

} // namespace

struct memory_event_store::impl {
  mutable std::mutex mutex;
  std::condition_variable wake, drained;
  std::deque<request> queue;
  std::uint64_t submitted = 0, processed = 0;
  bool stopping = false, paused = false;
  int fail_in = 0; ///< 0 = never; n = the n-th commit from now fails
  std::int64_t commits = 0;

  // The committed state (under mutex).
  std::vector<envelope> log;
  std::map<std::string, std::int64_t> heads;
  std::map<std::pair<std::string, std::string>, idempotency_record> idempotency;
  std::deque<snapshot> snapshots;
  std::int64_t outbox = 0;
  std::optional<store_error> failed;
  std::function<void(const commit_stats&)> observer;
  const std::string id = "memory-store";

  std::thread::id writer_id; ///< set once, before anyone can call flush()
  read_queue reads;
  std::thread writer;

  /// One batch against the group's view of the heads; appends its events to `pending`.
  /// Returns false when the whole group must fail (a single-writer stream conflicted).
  bool write(append_batch& batch, std::map<std::string, std::int64_t>& group_heads,
             std::vector<envelope>& pending, std::int64_t& seq, append_result& out,
             std::string& fatal) {
    bool holds_single_writer = false;
    for (const auto& sa : batch.streams)
      holds_single_writer = holds_single_writer || sa.single_writer;
    for (const auto& sa : batch.streams) {
      auto it = group_heads.find(sa.stream);
      auto head = it == group_heads.end() ? 0 : it->second;
      if (head != sa.expected_version) {
        if (holds_single_writer) {
          fatal = "single-writer stream's batch conflicted: "
                  + conflict(sa.stream, sa.expected_version, head);
          return false;
        }
        out.error = store_error{store_errc::version_conflict,
                                conflict(sa.stream, sa.expected_version, head)};
        return true;
      }
    }
    for (auto& sa : batch.streams) {
      auto version = sa.expected_version;
      for (auto& ev : sa.events)
        out.committed.push_back(envelope{++seq, sa.stream, ++version, std::move(ev.type),
                                         std::move(ev.data), ev.recorded_at});
      group_heads[sa.stream] = version;
    }
    pending.insert(pending.end(), out.committed.begin(), out.committed.end());
    return true;
  }

  void run() {
    std::unique_lock<std::mutex> lock{mutex};
    for (;;) {
      wake.wait(lock, [this] { return stopping || (!paused && !queue.empty()); });
      if (queue.empty())
        return; // stopping with nothing left
      std::vector<request> group(std::make_move_iterator(queue.begin()),
                                 std::make_move_iterator(queue.end()));
      queue.clear();
      std::vector<append_result> results(group.size());
      std::string fatal;
      commit_stats stats;
      if (!failed && fail_in > 0 && --fail_in == 0)
        fatal = "injected commit failure";
      auto group_heads = heads;
      std::vector<envelope> pending;
      std::map<std::pair<std::string, std::string>, idempotency_record> new_keys;
      std::int64_t seq = log.empty() ? 0 : log.back().seq;
      auto new_outbox = outbox;
      bool ok = !failed && fatal.empty();
      for (std::size_t i = 0; ok && i < group.size(); ++i) {
        if (auto* a = std::get_if<append_request>(&group[i])) {
          ok = write(a->batch, group_heads, pending, seq, results[i], fatal);
          if (ok && !results[i].error) {
            ++stats.batches;
            for (auto& rec : a->batch.idempotency)
              new_keys.emplace(std::make_pair(rec.user_id, rec.key), rec);
          }
        } else {
          new_outbox = std::max(new_outbox, std::get<outbox_request>(group[i]).seq);
        }
      }
      if (!ok && !failed)
        failed = store_error{store_errc::store_failed,
                             "commit failed, the store refuses every later write: " + fatal};
      if (ok) {
        heads = std::move(group_heads);
        stats.events = pending.size();
        log.insert(log.end(), pending.begin(), pending.end());
        for (auto& [k, rec] : new_keys)
          idempotency.emplace(k, rec); // the first answer wins
        outbox = new_outbox;
        stats.last_seq = log.empty() ? 0 : log.back().seq;
        ++commits;
      }
      auto latched = failed;
      auto observe = observer;
      lock.unlock();
      for (std::size_t i = 0; i < group.size(); ++i) {
        if (auto* a = std::get_if<append_request>(&group[i])) {
          if (!ok) {
            results[i] = append_result{};
            results[i].error = latched;
          }
          if (a->done)
            a->done(std::move(results[i]));
        } else if (auto& done = std::get<outbox_request>(group[i]).done) {
          done(ok ? std::nullopt : latched);
        }
      }
      if (ok && observe)
        observe(stats);
      lock.lock();
      processed += group.size();
      drained.notify_all();
    }
  }

  void enqueue(request r) {
    {
      std::lock_guard<std::mutex> guard{mutex};
      queue.push_back(std::move(r));
      ++submitted;
    }
    wake.notify_one();
  }
};

memory_event_store::memory_event_store() : self_(std::make_unique<impl>()) {
  self_->writer = std::thread([s = self_.get()] { s->run(); });
  self_->writer_id = self_->writer.get_id();
}

memory_event_store::~memory_event_store() {
  {
    std::lock_guard<std::mutex> guard{self_->mutex};
    self_->stopping = true;
    self_->paused = false; // drain: every queued append is answered
  }
  self_->wake.notify_all();
  self_->writer.join();
}

void memory_event_store::fail_commit(int n) {
  std::lock_guard<std::mutex> guard{self_->mutex};
  self_->fail_in = n;
}

void memory_event_store::pause() {
  std::lock_guard<std::mutex> guard{self_->mutex};
  self_->paused = true;
}

void memory_event_store::resume() {
  {
    std::lock_guard<std::mutex> guard{self_->mutex};
    self_->paused = false;
  }
  self_->wake.notify_all();
}

std::int64_t memory_event_store::commits() const {
  std::lock_guard<std::mutex> guard{self_->mutex};
  return self_->commits;
}

std::size_t memory_event_store::queued() const {
  std::lock_guard<std::mutex> guard{self_->mutex};
  return self_->queue.size();
}

void memory_event_store::append(append_batch batch, std::function<void(append_result)> done) {
  self_->enqueue(append_request{std::move(batch), std::move(done)});
}

std::vector<envelope> memory_event_store::read_from(std::int64_t after_seq, std::size_t limit) {
  std::lock_guard<std::mutex> guard{self_->mutex};
  std::vector<envelope> out;
  for (const auto& env : self_->log)
    if (env.seq > after_seq && out.size() < limit)
      out.push_back(env);
  return out;
}

stream_read memory_event_store::read_stream(const std::string& stream, std::int64_t after_version) {
  std::lock_guard<std::mutex> guard{self_->mutex};
  stream_read out;
  for (const auto& env : self_->log)
    if (env.stream == stream && env.version > after_version)
      out.events.push_back(env);
  return out;
}

std::int64_t memory_event_store::stream_version(const std::string& stream) {
  std::lock_guard<std::mutex> guard{self_->mutex};
  auto it = self_->heads.find(stream);
  return it == self_->heads.end() ? 0 : it->second;
}

std::int64_t memory_event_store::last_seq() {
  std::lock_guard<std::mutex> guard{self_->mutex};
  return self_->log.empty() ? 0 : self_->log.back().seq;
}

std::optional<idempotency_record> memory_event_store::find_idempotency(const std::string& user_id,
                                                                       const std::string& key) {
  std::lock_guard<std::mutex> guard{self_->mutex};
  auto it = self_->idempotency.find({user_id, key});
  if (it == self_->idempotency.end())
    return std::nullopt;
  return it->second;
}

bool memory_event_store::visit_idempotency_keys(
    const std::function<void(std::string_view, std::string_view)>& visit) {
  std::lock_guard<std::mutex> guard{self_->mutex};
  for (const auto& [k, rec] : self_->idempotency)
    visit(k.first, k.second);
  return true;
}

void memory_event_store::run_read(std::function<void()> job) {
  self_->reads.post(std::move(job));
}

void memory_event_store::save_snapshot(snapshot s,
                                       std::function<void(std::optional<store_error>)> done) {
  std::optional<store_error> error;
  {
    std::lock_guard<std::mutex> guard{self_->mutex};
    error = self_->failed;
    if (!error) {
      self_->snapshots.push_back(std::move(s));
      if (self_->snapshots.size() > 2)
        self_->snapshots.pop_front();
    }
  }
  if (done)
    done(std::move(error));
}

std::optional<snapshot> memory_event_store::latest_snapshot() {
  std::lock_guard<std::mutex> guard{self_->mutex};
  if (self_->snapshots.empty())
    return std::nullopt;
  return self_->snapshots.back();
}

std::int64_t memory_event_store::outbox_position() {
  std::lock_guard<std::mutex> guard{self_->mutex};
  return self_->outbox;
}

void memory_event_store::set_outbox_position(std::int64_t seq,
                                             std::function<void(std::optional<store_error>)> done) {
  self_->enqueue(outbox_request{seq, std::move(done)});
}

const std::string& memory_event_store::store_id() const {
  return self_->id;
}

std::optional<store_error> memory_event_store::failure() const {
  std::lock_guard<std::mutex> guard{self_->mutex};
  return self_->failed;
}

void memory_event_store::set_commit_observer(std::function<void(const commit_stats&)> observer) {
  std::lock_guard<std::mutex> guard{self_->mutex};
  self_->observer = std::move(observer);
}

void memory_event_store::flush() {
  if (std::this_thread::get_id() == self_->writer_id)
    return;
  std::unique_lock<std::mutex> lock{self_->mutex};
  auto target = self_->submitted;
  self_->drained.wait(lock, [&] { return self_->processed >= target; });
}

} // namespace flashsale
