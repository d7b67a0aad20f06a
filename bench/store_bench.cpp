// store_bench: the event store's append throughput against the raw SQLite ceiling measured in
// the same run on the same disk: (1) N ~200-byte JSON rows in 1000-row transactions through one
// prepared statement (WAL, synchronous=FULL); (2) the store with many producer threads, each
// appending single-event batches to its own stream with a bounded number in flight.
// Prints events/s for both (best of --rounds, alternating), the ratio store/raw (target >= 0.5)
// and the mean group size. Usage: store_bench [--events N] [--producers P] [--in-flight K].
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <sqlite3.h>

#include "persistence/sqlite_event_store.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

struct options {
  long events = 200'000;
  int producers = 64;
  int in_flight = 32; ///< per producer; 1 = every producer waits for each commit
  int rounds = 3;     ///< raw and store alternate this many times; the best of each counts
  std::string dir;    ///< default: a fresh directory under $TMPDIR or /tmp
};

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

/// ~200 bytes, shaped like an OrderPlaced event.
std::string payload(long i) {
  std::string p = "{\"order_id\":\"o-" + std::to_string(i) + "\",\"user_id\":\"u-"
                  + std::to_string(i % 997)
                  + "\",\"items\":[{\"product_id\":\"p-1\",\"qty\":1}],\"total_cents\":1999,"
                    "\"expires_at\":\"2026-11-21T10:05:00.000Z\",\"pad\":\"";
  p.append(200 - std::min<std::size_t>(p.size() + 2, 200), 'x');
  return p + "\"}";
}

bool check(sqlite3* db, int rc, const char* what) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE)
    return true;
  std::fprintf(stderr, "raw sqlite: %s: %s\n", what, sqlite3_errmsg(db));
  return false;
}

/// The ceiling: what SQLite itself does with the same schema and ideal batching.
double raw_rows_per_second(const std::string& path, long n) {
  sqlite3* db = nullptr;
  if (!check(db, sqlite3_open(path.c_str(), &db), "open"))
    return 0;
  sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
  sqlite3_exec(db, "PRAGMA synchronous=FULL", nullptr, nullptr, nullptr);
  sqlite3_exec(db,
               "CREATE TABLE events(seq INTEGER PRIMARY KEY, stream TEXT NOT NULL,"
               " version INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL,"
               " recorded_at INTEGER NOT NULL, UNIQUE(stream, version))",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* ins = nullptr;
  sqlite3_prepare_v3(db,
                     "INSERT INTO events(stream, version, type, data, recorded_at)"
                     " VALUES(?1, ?2, ?3, ?4, ?5)",
                     -1, SQLITE_PREPARE_PERSISTENT, &ins, nullptr);
  std::vector<std::string> payloads;
  for (long i = 0; i < 1000; ++i)
    payloads.push_back(payload(i));
  bool ok = true;
  auto start = clock_type::now();
  for (long i = 0; ok && i < n; ++i) {
    if (i % 1000 == 0)
      ok = check(db, sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), "begin");
    std::string stream = "order-" + std::to_string(i);
    const auto& data = payloads[i % 1000];
    sqlite3_bind_text(ins, 1, stream.data(), static_cast<int>(stream.size()), SQLITE_STATIC);
    sqlite3_bind_int64(ins, 2, 1);
    sqlite3_bind_text(ins, 3, "OrderPlaced", -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 4, data.data(), static_cast<int>(data.size()), SQLITE_STATIC);
    sqlite3_bind_int64(ins, 5, 1'700'000'000'000 + i);
    ok = ok && check(db, sqlite3_step(ins), "insert");
    sqlite3_reset(ins);
    if (i % 1000 == 999 || i == n - 1)
      ok = ok && check(db, sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), "commit");
  }
  double elapsed = seconds_since(start);
  sqlite3_finalize(ins);
  sqlite3_close(db);
  return ok ? static_cast<double>(n) / elapsed : 0;
}

struct store_figures {
  double events_per_second = 0;
  double mean_group = 0;
  std::size_t commits = 0;
  long failed = 0;
  double transaction_share = 0; ///< of the wall time, spent from BEGIN to COMMIT returned
};

/// What a node does: many producers, each appending single-event batches to its own stream.
store_figures store_events_per_second(const std::string& path, const options& o) {
  auto opened = flashsale::open_sqlite_event_store({path, flashsale::sync_mode::full, 1000});
  if (auto* e = std::get_if<flashsale::store_error>(&opened)) {
    std::fprintf(stderr, "open store: %s\n", e->message.c_str());
    return {};
  }
  auto store = std::move(std::get<0>(opened));
  std::atomic<std::size_t> commits{0}, committed{0};
  std::atomic<long long> in_transactions_us{0};
  store->set_commit_observer([&](const flashsale::commit_stats& s) {
    commits.fetch_add(1, std::memory_order_relaxed);
    committed.fetch_add(s.events, std::memory_order_relaxed);
    in_transactions_us.fetch_add(s.duration.count(), std::memory_order_relaxed);
  });
  struct producer {
    std::mutex mutex;
    std::condition_variable slot_free;
    int in_flight = 0;
  };
  std::vector<producer> producers(static_cast<std::size_t>(o.producers));
  std::atomic<long> failed{0};
  const long per_producer = o.events / o.producers;
  const int refill_at = o.in_flight / 2;
  std::vector<std::string> payloads;
  for (long i = 0; i < 1000; ++i)
    payloads.push_back(payload(i));

  auto start = clock_type::now();
  std::vector<std::thread> threads;
  for (int p = 0; p < o.producers; ++p)
    threads.emplace_back([&, p] {
      auto& self = producers[static_cast<std::size_t>(p)];
      const std::string stream = "order-producer-" + std::to_string(p);
      for (long v = 0; v < per_producer; ++v) {
        {
          std::unique_lock<std::mutex> lock(self.mutex);
          if (self.in_flight == o.in_flight)
            self.slot_free.wait(lock, [&] { return self.in_flight <= refill_at; });
          ++self.in_flight;
        }
        flashsale::append_batch batch;
        batch.streams.push_back(flashsale::stream_append{
            stream, v, {flashsale::new_event{"OrderPlaced", payloads[v % 1000], v}}});
        store->append(std::move(batch), [&self, &failed, refill_at](flashsale::append_result r) {
          if (r.error)
            failed.fetch_add(1, std::memory_order_relaxed);
          // The producer refills once half its window is free: one wake-up per window/2
          // commits rather than per commit, as a real actor's mailbox batches its replies.
          std::lock_guard<std::mutex> lock(self.mutex);
          if (--self.in_flight == refill_at)
            self.slot_free.notify_one();
        });
      }
    });
  for (auto& t : threads)
    t.join();
  store->flush();
  double elapsed = seconds_since(start);
  store_figures f;
  f.commits = commits.load();
  f.events_per_second = static_cast<double>(committed.load()) / elapsed;
  f.mean_group = f.commits ? static_cast<double>(committed.load()) / f.commits : 0;
  f.failed = failed.load();
  f.transaction_share = static_cast<double>(in_transactions_us.load()) / 1e6 / elapsed;
  return f;
}

bool parse(int argc, char** argv, options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (arg == "--events" && (v = value()))
      o.events = std::atol(v);
    else if (arg == "--producers" && (v = value()))
      o.producers = std::atoi(v);
    else if (arg == "--in-flight" && (v = value()))
      o.in_flight = std::atoi(v);
    else if (arg == "--rounds" && (v = value()))
      o.rounds = std::atoi(v);
    else if (arg == "--dir" && (v = value()))
      o.dir = v;
    else
      return false;
  }
  return o.events > 0 && o.producers > 0 && o.in_flight > 0 && o.rounds > 0
         && o.events >= o.producers;
}

} // namespace

int main(int argc, char** argv) {
  options o;
  if (!parse(argc, argv, o)) {
    std::fprintf(stderr, "usage: store_bench [--events N] [--producers P] [--in-flight K]"
                         " [--rounds R] [--dir DIR]\n");
    return 2;
  }
  bool own_dir = o.dir.empty();
  if (own_dir) {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/store-bench-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::perror("mkdtemp");
      return 1;
    }
    o.dir = pattern;
  }
  const long store_events = (o.events / o.producers) * o.producers;
  // Alternate the two and keep the best of each: other load on a shared machine then hurts
  // both sides alike instead of whichever ran during it.
  double raw = 0;
  store_figures store;
  for (int round = 0; round < o.rounds; ++round) {
    const auto suffix = std::to_string(round) + ".db";
    raw = std::max(raw, raw_rows_per_second(o.dir + "/raw-" + suffix, o.events));
    auto f = store_events_per_second(o.dir + "/events-" + suffix, o);
    if (f.failed || f.events_per_second > store.events_per_second)
      store = f;
    std::error_code ignored; // each round on fresh files, without the last round's disk usage
    std::filesystem::remove(o.dir + "/raw-" + suffix, ignored);
    std::filesystem::remove(o.dir + "/events-" + suffix, ignored);
  }
  std::printf("raw sqlite   : %ld rows, 1000 rows/tx, WAL, synchronous=FULL: %.0f rows/s"
              " (best of %d)\n",
              o.events, raw, o.rounds);
  std::printf("event store  : %ld single-event appends, %d producers x %d in flight, sync=full:"
              " %.0f events/s (best of %d)\n",
              store_events, o.producers, o.in_flight, store.events_per_second, o.rounds);
  std::printf("group commit : %zu commits, mean %.1f events per commit, %.0f%% of the time"
              " inside transactions%s\n",
              store.commits, store.mean_group, 100 * store.transaction_share,
              store.failed ? " (SOME APPENDS FAILED)" : "");
  std::printf("ratio        : store/raw = %.2f (target >= 0.5)\n",
              raw > 0 ? store.events_per_second / raw : 0.0);
  if (own_dir) {
    std::error_code ignored;
    std::filesystem::remove_all(o.dir, ignored);
  }
  return store.failed == 0 && raw > 0 ? 0 : 1;
}
