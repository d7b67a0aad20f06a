#include "cluster/partition_store.hpp"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "events/event.hpp"
#include "persistence/read_queue.hpp"

namespace flashsale::cluster {

namespace {

using steady = std::chrono::steady_clock;

bool is_order_stream(const std::string& stream) {
  auto ref = parse_stream(stream);
  return ref && ref->what == stream_ref::kind::order;
}

std::string conflict(const std::string& stream, std::int64_t expected, std::int64_t actual) {
  return "version conflict on stream '" + stream + "': expected version " + std::to_string(expected)
         + ", actual " + std::to_string(actual);
}

} // namespace

std::string encode_partition_snapshot(const std::string& world,
                                      const std::vector<idempotency_record>& keys) {
  auto records = nlohmann::json::array();
  for (auto& k : keys)
    records.push_back(nlohmann::json::parse(idempotency_body(k)));
  std::string out = std::to_string(world.size()) + "\n";
  out += world;
  out += records.dump();
  return out;
}

bool decode_partition_snapshot(const std::string& bytes, std::string& world,
                               std::vector<idempotency_record>& keys) {
  auto newline = bytes.find('\n');
  if (newline == std::string::npos)
    return false;
  std::size_t length = 0;
  try {
    length = std::stoull(bytes.substr(0, newline));
  } catch (const std::exception&) {
    return false;
  }
  if (bytes.size() < newline + 1 + length)
    return false;
  world = bytes.substr(newline + 1, length);
  auto records =
      nlohmann::json::parse(bytes.begin() + static_cast<std::ptrdiff_t>(newline + 1 + length),
                            bytes.end(), nullptr, false);
  if (records.is_discarded() || !records.is_array())
    return false;
  for (auto& r : records) {
    auto k = idempotency_of_body(r.dump());
    if (!k)
      return false;
    keys.push_back(std::move(*k));
  }
  return true;
}

struct partition_store::impl {
  partition_stream& log;
  snapshot_store& snapshots;
  partition_store_options o;
  std::string id;
  std::chrono::milliseconds window, beat_every;
  open_report report;

  // ---- requests, as in every store here: a queue drained by one writer thread ----
  struct append_request {
    append_batch batch;
    std::function<void(append_result)> done;
  };
  struct release_request {};
  using request = std::variant<append_request, release_request>;

  mutable std::mutex mutex;
  std::condition_variable wake, drained;
  std::deque<request> queue;
  std::uint64_t submitted = 0, processed = 0;
  bool stopping = false;

  // ---- the committed state (under mutex) ----
  std::vector<envelope> tail; ///< events after the latest snapshot, for read_from
  std::unordered_map<std::string, std::vector<envelope>> orders; ///< order streams read or written
  std::unordered_map<std::string, std::int64_t> heads;           ///< last version of streams seen
  struct key_entry {
    idempotency_record record;
    std::uint64_t seq = 0;
  };
  std::map<std::pair<std::string, std::string>, key_entry> keys;
  std::int64_t last_event_seq = 0;
  std::optional<snapshot> latest;
  std::optional<store_error> failed;
  std::function<void(const commit_stats&)> observer;

  // ---- the writer thread's own ----
  std::uint64_t expected_last = 0; ///< the log's last sequence as far as we know

  // ---- read by any thread ----
  std::atomic<bool> latched{false};
  std::atomic<steady::rep> last_ack_sent{0};
  steady::time_point serve_after;
  std::atomic<std::int64_t> appended{0};

  read_queue reads;
  std::thread writer;
  std::thread::id writer_id;

  impl(partition_stream& l, snapshot_store& s, partition_store_options opts)
    : log(l), snapshots(s), o(std::move(opts)), id("partition-" + std::to_string(o.partition)),
      window(o.lease_ms / 2), beat_every(o.lease_ms / 4) {}

  int p() const { return o.partition; }

  // ---- opening ----

  std::optional<open_refused> claim(std::uint64_t& claim_seq, std::optional<stored_record>& prev,
                                    steady::time_point& sent) {
    auto give_up = steady::now() + o.claim_patience;
    std::string why;
    for (bool first = true; first || steady::now() < give_up; first = false) {
      if (!first)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      auto last = log.last_seq(p());
      if (auto e = std::get_if<std::string>(&last)) {
        why = *e;
        if (e->find("not found") != std::string::npos) // a partition nobody wrote yet
          if (auto problem = log.ensure(p()))
            why = *problem;
        continue;
      }
      std::uint64_t head = std::get<std::uint64_t>(last);
      prev.reset();
      if (head > 0) {
        auto rec = log.record_at(p(), head);
        if (auto e = std::get_if<std::string>(&rec)) {
          why = *e;
          continue;
        }
        prev = std::get<std::optional<stored_record>>(rec);
        if (prev && prev->writer && prev->writer->epoch > o.writer.epoch)
          return open_refused{true, "partition " + std::to_string(p()) + " was claimed at epoch "
                                        + std::to_string(prev->writer->epoch) + " by "
                                        + prev->writer->node + ", after ours ("
                                        + std::to_string(o.writer.epoch) + ")"};
      }
      sent = steady::now();
      auto r = log.append(
          p(), head,
          {{log.names().control_subject(p(), record_kind::claim), control_body(o.writer)}},
          o.writer, window.count());
      if (auto seq = std::get_if<std::uint64_t>(&r)) {
        claim_seq = *seq;
        return std::nullopt;
      }
      why = std::get<append_failure>(r).message; // someone still appends, or no answer: again
    }
    return open_refused{false, "claim of partition " + std::to_string(p()) + ": " + why};
  }

  std::optional<std::string> load(std::uint64_t up_to) {
    std::uint64_t covers = 0;
    auto began = steady::now();
    auto loaded = snapshots.load(p());
    if (auto s = std::get_if<std::optional<partition_snapshot>>(&loaded);
        s && *s && (*s)->covers <= up_to) {
      std::string world;
      std::vector<idempotency_record> records;
      report.snapshot_bytes = (*s)->data.size();
      if (decode_partition_snapshot((*s)->data, world, records)) {
        covers = (*s)->covers;
        latest = snapshot{static_cast<std::int64_t>(covers), (*s)->taken_at, std::move(world)};
        for (auto& r : records)
          keys.emplace(std::make_pair(r.user_id, r.key), key_entry{r, covers});
      }
    } // no usable snapshot (or no answer): the whole log, slower but just as true
    report.snapshot_covers = covers;
    report.snapshot_took =
        std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - began);
    began = steady::now();
    last_event_seq = static_cast<std::int64_t>(covers);
    std::optional<std::string> problem;
    auto failed_read = log.read(
        p(), covers, up_to,
        [&](stored_record&& r) {
          if (problem)
            return;
          ++report.tail_records;
          if (r.kind == record_kind::event) {
            auto e = envelope_of_body(r.body);
            if (!e || e->seq != static_cast<std::int64_t>(r.seq)) {
              problem = "record " + std::to_string(r.seq) + " of partition " + std::to_string(p())
                        + " is not an event of this log";
              return;
            }
            heads[e->stream] = e->version;
            last_event_seq = e->seq;
            tail.push_back(std::move(*e)); // an order asked for later is read from the log
          } else if (r.kind == record_kind::idempotency) {
            if (auto k = idempotency_of_body(r.body))
              keys.emplace(std::make_pair(k->user_id, k->key), key_entry{*k, r.seq});
          }
        },
        /*with_writer=*/false);
    report.tail_took = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - began);
    if (failed_read)
      return failed_read;
    return problem;
  }

  // ---- writing ----

  void latch(const std::string& why, bool fenced_by_another) {
    {
      std::lock_guard lock(mutex);
      if (failed)
        return;
      failed = store_error{store_errc::store_failed,
                           "partition " + std::to_string(p()) + " refuses writes: " + why};
    }
    latched = true;
    if (o.on_failure)
      o.on_failure(why, fenced_by_another);
  }

  /// What became of an append whose answer never came (its server died, a leader election,
  /// the connection dropped): once the log answers again, it holds the whole batch (an atomic
  /// batch lands whole or not at all), none of it, or another writer's records.
  enum class fate { landed, absent, another, unknown };
  fate resolve(std::size_t messages) {
    auto give_up = steady::now() + o.resolve_patience;
    while (steady::now() < give_up) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(give_up - steady::now());
      auto last = log.last_seq(p(), std::max<std::int64_t>(50, left.count()));
      if (auto head = std::get_if<std::uint64_t>(&last)) {
        if (*head == expected_last)
          return fate::absent;
        std::size_t ours = 0;
        bool another = false, complete = true;
        std::uint64_t seen = expected_last;
        auto failed_read = log.read(p(), expected_last, *head, [&](stored_record&& r) {
          seen = r.seq;
          if (r.writer != o.writer)
            another = true;
          else if (r.kind != record_kind::beat && r.kind != record_kind::claim)
            ++ours;
        });
        complete = !failed_read && seen == *head;
        if (complete) {
          if (another)
            return fate::another;
          expected_last = *head; // past our own records, lost heartbeats included
          return ours == messages ? fate::landed : fate::absent;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return fate::unknown;
  }

  /// One fenced append from the writer thread; true when acknowledged. A lost answer is
  /// resolved from the log (landed: done; absent: sent again). Absent behind our own lost
  /// heartbeat latches instead: the messages' envelopes are stamped with the sequences that
  /// follow the old head, so sent after the heartbeat they would land one further and the log
  /// would hold events whose seq is not theirs, which no open accepts (tests/chaos seed 7).
  /// The reopen reads the head from the log. Anything else latches too: another owner's
  /// record, or a log that would not tell in time.
  bool append_fenced(const std::vector<outgoing_message>& messages, bool rollup) {
    for (int attempt = 0; attempt < 8; ++attempt) {
      auto sent = steady::now();
      auto r = log.append(p(), expected_last, messages, o.writer, window.count(), rollup);
      if (auto seq = std::get_if<std::uint64_t>(&r)) {
        expected_last = *seq;
        last_ack_sent = sent.time_since_epoch().count();
        return true;
      }
      auto& failure = std::get<append_failure>(r);
      if (failure.what == append_failure::kind::refused) {
        latch(failure.message, false);
        return false;
      }
      auto planned_after = expected_last;
      switch (resolve(messages.size())) {
      case fate::landed:
        last_ack_sent = sent.time_since_epoch().count(); // it was sent then, at the latest
        return true;
      case fate::absent:
        if (expected_last != planned_after) {
          latch(failure.message
                    + " (our own heartbeat landed first; the batch is stamped "
                      "for the sequences it took)",
                false);
          return false;
        }
        // Not stored, nothing else either: send it again, after a breath (a client that has
        // just reconnected may find no responder for a moment; 20..160 ms, 0.7 s in all).
        std::this_thread::sleep_for(std::chrono::milliseconds(20 * (attempt + 1)));
        continue;
      case fate::another:
        latch(failure.message + " (another owner appended)", true);
        return false;
      case fate::unknown:
        latch(failure.message + " (the log did not answer in time)", false);
        return false;
      }
    }
    latch("an append kept failing without an answer", false);
    return false;
  }

  void beat() {
    if (latched)
      return;
    // A heartbeat carries no state: a lost answer only costs the window, so it is resolved
    // (and latches) only when the log says another owner appended.
    auto sent = steady::now();
    auto r =
        log.append(p(), expected_last,
                   {{log.names().control_subject(p(), record_kind::beat), control_body(o.writer)}},
                   o.writer, window.count(), true);
    if (auto seq = std::get_if<std::uint64_t>(&r)) {
      expected_last = *seq;
      last_ack_sent = sent.time_since_epoch().count();
      return;
    }
    if (std::get<append_failure>(r).what == append_failure::kind::fenced
        && resolve(1) == fate::another)
      latch(std::get<append_failure>(r).message + " (another owner appended)", true);
  }

  /// What one group commits: its requests' envelopes and records, cut into atomic batches of
  /// at most max_batch_messages (never splitting one request).
  struct planned {
    std::vector<append_result> results;
    std::vector<std::vector<idempotency_record>> keys;
    struct chunk {
      std::size_t first = 0, end = 0; ///< request indices
      std::vector<outgoing_message> messages;
    };
    std::vector<chunk> chunks;
    std::string fatal;
  };

  planned plan(std::vector<request>& group) {
    planned out;
    out.results.resize(group.size());
    out.keys.resize(group.size());
    std::unordered_map<std::string, std::int64_t> group_heads;
    auto head_of = [&](const std::string& stream) -> std::optional<std::int64_t> {
      if (auto it = group_heads.find(stream); it != group_heads.end())
        return it->second;
      std::lock_guard lock(mutex);
      if (auto it = heads.find(stream); it != heads.end())
        return it->second;
      return std::nullopt; // not seen since opening: its writer's expectation stands
    };
    std::int64_t seq = static_cast<std::int64_t>(expected_last);
    planned::chunk current;
    for (std::size_t i = 0; i < group.size(); ++i) {
      current.end = i;
      auto* a = std::get_if<append_request>(&group[i]);
      if (!a)
        continue;
      bool single_writer = false;
      for (auto& sa : a->batch.streams)
        single_writer = single_writer || sa.single_writer;
      std::string conflict_text;
      for (auto& sa : a->batch.streams) {
        auto head = head_of(sa.stream);
        if (head && *head != sa.expected_version) {
          conflict_text = conflict(sa.stream, sa.expected_version, *head);
          break;
        }
      }
      if (!conflict_text.empty()) {
        if (single_writer) {
          out.fatal = "single-writer stream's batch conflicted: " + conflict_text;
          return out;
        }
        out.results[i].error = store_error{store_errc::version_conflict, conflict_text};
        continue;
      }
      std::size_t needed = a->batch.idempotency.size();
      for (auto& sa : a->batch.streams)
        needed += sa.events.size();
      if (!current.messages.empty() && current.messages.size() + needed > o.max_batch_messages) {
        out.chunks.push_back(std::move(current));
        current = {};
        current.first = i;
      }
      for (auto& sa : a->batch.streams) {
        auto version = sa.expected_version;
        for (auto& ev : sa.events) {
          envelope e{++seq,         sa.stream, ++version, std::move(ev.type), std::move(ev.data),
                     ev.recorded_at};
          current.messages.push_back({log.names().event_subject(p(), e), envelope_json(e)});
          out.results[i].committed.push_back(std::move(e));
        }
        group_heads[sa.stream] = version;
      }
      for (auto& k : a->batch.idempotency) {
        ++seq;
        current.messages.push_back({log.names().idempotency_subject(p()), idempotency_body(k)});
        out.keys[i].push_back(k);
      }
    }
    current.end = group.size();
    out.chunks.push_back(std::move(current));
    return out;
  }

  /// Makes a committed request's events and records readable.
  void remember(append_result& r, std::vector<idempotency_record>& new_keys,
                std::uint64_t key_seq) {
    std::lock_guard lock(mutex);
    for (auto& e : r.committed) {
      heads[e.stream] = e.version;
      last_event_seq = e.seq;
      if (is_order_stream(e.stream)) {
        auto it = orders.find(e.stream);
        // A stream read before (or new): kept whole. One not read since opening is read
        // from the log when someone asks, so a partial copy must not start here.
        if (it != orders.end())
          it->second.push_back(e);
        else if (e.version == 1)
          orders[e.stream].push_back(e);
      }
      tail.push_back(e);
    }
    for (auto& k : new_keys)
      keys.emplace(std::make_pair(k.user_id, k.key), key_entry{k, key_seq});
  }

  void commit_group(std::vector<request>& group) {
    auto began = steady::now();
    if (latched) {
      answer_failed(group, 0);
      return;
    }
    auto pl = plan(group);
    if (!pl.fatal.empty()) {
      latch(pl.fatal, false);
      answer_failed(group, 0);
      return;
    }
    commit_stats stats;
    std::size_t answered = 0;
    for (auto& chunk : pl.chunks) {
      if (!chunk.messages.empty() && !append_fenced(chunk.messages, false)) {
        answer_failed(group, answered);
        return;
      }
      for (std::size_t i = chunk.first; i < chunk.end; ++i) {
        if (auto* a = std::get_if<append_request>(&group[i])) {
          auto& r = pl.results[i];
          if (!r.error) {
            stats.events += r.committed.size();
            ++stats.batches;
            appended += static_cast<std::int64_t>(r.committed.size());
            remember(r, pl.keys[i], expected_last);
          }
          if (a->done)
            a->done(std::move(r));
        } else { // a release: everything before it is committed
          append_fenced(
              {{log.names().control_subject(p(), record_kind::release), control_body(o.writer)}},
              false);
        }
      }
      answered = chunk.end;
    }
    std::function<void(const commit_stats&)> observe;
    {
      std::lock_guard lock(mutex);
      stats.last_seq = last_event_seq;
      observe = observer;
    }
    stats.duration = std::chrono::duration_cast<std::chrono::microseconds>(steady::now() - began);
    if (observe && stats.batches > 0)
      observe(stats);
  }

  void answer_failed(std::vector<request>& group, std::size_t from) {
    std::optional<store_error> error;
    {
      std::lock_guard lock(mutex);
      error = failed;
    }
    for (std::size_t i = from; i < group.size(); ++i)
      if (auto* a = std::get_if<append_request>(&group[i]); a && a->done) {
        append_result r;
        r.error = error;
        a->done(std::move(r));
      }
  }

  void run() {
    pthread_setname_np(pthread_self(), ("fs-part-" + std::to_string(p())).c_str());
    std::unique_lock lock(mutex);
    for (;;) {
      auto beat_due = steady::time_point(steady::duration(last_ack_sent.load())) + beat_every;
      wake.wait_until(lock, beat_due, [&] { return stopping || !queue.empty(); });
      if (queue.empty()) {
        if (stopping)
          return;
        if (steady::now() >= beat_due) {
          lock.unlock();
          beat();
          lock.lock();
        }
        continue;
      }
      std::vector<request> group(std::make_move_iterator(queue.begin()),
                                 std::make_move_iterator(queue.end()));
      queue.clear();
      lock.unlock();
      commit_group(group);
      lock.lock();
      processed += group.size();
      drained.notify_all();
    }
  }

  void enqueue(request r) {
    {
      std::lock_guard lock(mutex);
      queue.push_back(std::move(r));
      ++submitted;
    }
    wake.notify_one();
  }
};

std::variant<std::unique_ptr<partition_store>, open_refused>
partition_store::open(partition_stream& log, snapshot_store& snapshots, partition_store_options o) {
  auto began = steady::now();
  auto self = std::make_unique<impl>(log, snapshots, std::move(o));
  std::uint64_t claim_seq = 0;
  std::optional<stored_record> prev;
  steady::time_point sent;
  if (auto refused = self->claim(claim_seq, prev, sent))
    return *refused;
  auto& rep = self->report;
  rep.claim_seq = claim_seq;
  if (prev) {
    rep.previous = prev->writer;
    rep.previous_released = prev->kind == record_kind::release;
  }
  // The previous writer answers until lease/2 after it sent its last record; we saw that
  // record no later than now (or since seen_since says), so its window ends by then + lease/2.
  // Its own earlier self (a restart on this node) and a release need no wait.
  bool no_wait =
      !prev || !prev->writer || rep.previous_released || prev->writer->node == self->o.writer.node;
  auto seen = sent;
  if (!no_wait && self->o.seen_since)
    if (auto since = self->o.seen_since(prev->seq))
      seen = std::min(seen, *since);
  self->serve_after = no_wait
                          ? steady::now()
                          : seen + self->window + self->window / 10 + std::chrono::milliseconds(50);
  if (auto problem = self->load(claim_seq))
    return open_refused{false, *problem};
  self->expected_last = claim_seq;
  self->last_ack_sent = sent.time_since_epoch().count();
  rep.took = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - began);
  auto* raw = self.get();
  raw->writer = std::thread([raw] { raw->run(); });
  raw->writer_id = raw->writer.get_id();
  return std::unique_ptr<partition_store>(new partition_store(std::move(self)));
}

partition_store::partition_store(std::unique_ptr<impl> self) : self_(std::move(self)) {}

partition_store::~partition_store() {
  {
    std::lock_guard lock(self_->mutex);
    self_->stopping = true;
  }
  self_->wake.notify_all();
  self_->writer.join();
}

bool partition_store::serving() const {
  if (self_->latched)
    return false;
  auto now = steady::now();
  auto acked = steady::time_point(steady::duration(self_->last_ack_sent.load()));
  return now >= self_->serve_after && now < acked + self_->window;
}

std::chrono::steady_clock::time_point partition_store::serve_after() const {
  return self_->serve_after;
}

const open_report& partition_store::report() const {
  return self_->report;
}

void partition_store::release() {
  if (self_->latched)
    return;
  self_->enqueue(impl::release_request{});
  flush();
}

std::int64_t partition_store::appended_events() const {
  return self_->appended;
}

void partition_store::append(append_batch batch, std::function<void(append_result)> done) {
  if (self_->latched) {
    done(append_result{failure(), {}});
    return;
  }
  self_->enqueue(impl::append_request{std::move(batch), std::move(done)});
}

std::vector<envelope> partition_store::read_from(std::int64_t after_seq, std::size_t limit) {
  std::lock_guard lock(self_->mutex);
  auto& tail = self_->tail;
  auto it = std::upper_bound(tail.begin(), tail.end(), after_seq,
                             [](std::int64_t seq, const envelope& e) { return seq < e.seq; });
  std::vector<envelope> out;
  for (; it != tail.end() && out.size() < limit; ++it)
    out.push_back(*it);
  return out;
}

stream_read partition_store::read_stream(const std::string& stream, std::int64_t after_version) {
  auto pick = [&](const std::vector<envelope>& all) {
    stream_read out;
    for (auto& e : all)
      if (e.version > after_version)
        out.events.push_back(e);
    return out;
  };
  {
    std::lock_guard lock(self_->mutex);
    if (auto it = self_->orders.find(stream); it != self_->orders.end())
      return pick(it->second);
  }
  // Not read or written since opening: the log's leader holds every acknowledged event.
  auto& names = self_->log.names();
  auto records = self_->log.read_subject(self_->p(), names.stream_filter(self_->p(), stream));
  if (auto e = std::get_if<std::string>(&records))
    return {{}, store_error{store_errc::io_error, *e}};
  std::vector<envelope> events;
  for (auto& r : std::get<std::vector<stored_record>>(records)) {
    auto e = envelope_of_body(r.body);
    if (!e || e->stream != stream)
      continue; // another stream's id that happens to share the token (never for our ids)
    events.push_back(std::move(*e));
  }
  if (!is_order_stream(stream) || events.empty())
    return pick(events);
  std::lock_guard lock(self_->mutex);
  auto& cached = self_->orders[stream];
  // Anything the writer added meanwhile is newer than what the log answered, or the same.
  for (auto& e : cached)
    if (events.empty() || e.version > events.back().version)
      events.push_back(e);
  cached = events;
  self_->heads[stream] = std::max(self_->heads[stream], cached.back().version);
  return pick(cached);
}

std::int64_t partition_store::stream_version(const std::string& stream) {
  {
    std::lock_guard lock(self_->mutex);
    if (auto it = self_->heads.find(stream); it != self_->heads.end())
      return it->second;
  }
  auto read = read_stream(stream, 0);
  return read.events.empty() ? 0 : read.events.back().version;
}

std::int64_t partition_store::last_seq() {
  std::lock_guard lock(self_->mutex);
  return self_->last_event_seq;
}

std::optional<idempotency_record> partition_store::find_idempotency(const std::string& user_id,
                                                                    const std::string& key) {
  std::lock_guard lock(self_->mutex);
  auto it = self_->keys.find({user_id, key});
  if (it == self_->keys.end())
    return std::nullopt;
  return it->second.record;
}

bool partition_store::visit_idempotency_keys(
    const std::function<void(std::string_view, std::string_view)>& visit) {
  std::lock_guard lock(self_->mutex);
  for (auto& [k, entry] : self_->keys)
    visit(k.first, k.second);
  return true;
}

void partition_store::run_read(std::function<void()> job) {
  self_->reads.post(std::move(job));
}

void partition_store::save_snapshot(snapshot s,
                                    std::function<void(std::optional<store_error>)> done) {
  std::vector<idempotency_record> keys;
  {
    std::lock_guard lock(self_->mutex);
    if (self_->failed) {
      if (done)
        done(self_->failed);
      return;
    }
    for (auto& [k, entry] : self_->keys)
      if (entry.seq <= static_cast<std::uint64_t>(s.seq))
        keys.push_back(entry.record);
  }
  partition_snapshot ps;
  ps.covers = static_cast<std::uint64_t>(s.seq);
  ps.taken_at = s.taken_at;
  ps.data = encode_partition_snapshot(s.data, keys);
  if (auto problem = self_->snapshots.save(self_->p(), ps)) {
    if (done)
      done(store_error{store_errc::io_error, *problem});
    return;
  }
  {
    std::lock_guard lock(self_->mutex);
    auto& tail = self_->tail;
    auto keep = std::upper_bound(tail.begin(), tail.end(), s.seq,
                                 [](std::int64_t seq, const envelope& e) { return seq < e.seq; });
    tail.erase(tail.begin(), keep); // recovery after this point starts from the snapshot
    self_->latest = std::move(s);
  }
  if (done)
    done(std::nullopt);
}

std::optional<snapshot> partition_store::latest_snapshot() {
  std::lock_guard lock(self_->mutex);
  return self_->latest;
}

std::int64_t partition_store::outbox_position() {
  return last_seq(); // the log is the feed: nothing waits to be published
}

void partition_store::set_outbox_position(std::int64_t,
                                          std::function<void(std::optional<store_error>)> done) {
  if (done)
    done(std::nullopt);
}

const std::string& partition_store::store_id() const {
  return self_->id;
}

std::optional<store_error> partition_store::failure() const {
  std::lock_guard lock(self_->mutex);
  return self_->failed;
}

void partition_store::set_commit_observer(std::function<void(const commit_stats&)> observer) {
  std::lock_guard lock(self_->mutex);
  self_->observer = std::move(observer);
}

void partition_store::flush() {
  if (std::this_thread::get_id() == self_->writer_id)
    return;
  std::unique_lock lock(self_->mutex);
  auto target = self_->submitted;
  self_->drained.wait(lock, [&] { return self_->processed >= target; });
}

} // namespace flashsale::cluster
