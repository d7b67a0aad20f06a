// Replay and start-up benchmark (issue 8). Generates a flash-sale log directly through the
// store (no HTTP): 20 products, 1,000,000 orders by default; a third of them win a unit and
// mostly let it expire (placed, reserved, expired/paid, released/sold), the rest are rejected
// as sold out. Then, in the same run:
//   1. raw read: every row through SQLite (the ceiling for any replay),
//   2. replay from scratch: the fold `flashsale replay --from-scratch` and recovery use,
//   3. node start-up to the first 200 from /health, without and with a snapshot.
// Usage: replay_bench [--orders N] [--dir DIR] [--keep]
#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <sqlite3.h>

#include "events/event.hpp"
#include "events/world_snapshot.hpp"
#include "persistence/sqlite_event_store.hpp"
#include "persistence/sqlite_reader_pool.hpp"
#include "persistence/world_recovery.hpp"

extern char** environ;

using namespace flashsale;
using clock_type = std::chrono::steady_clock;

namespace {

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

struct log_writer {
  event_store& store;
  std::map<std::string, std::int64_t> versions;
  append_batch batch;
  std::int64_t events = 0;
  timestamp_ms now = 1'790'000'000'000;

  void add(const event& e) {
    auto stream = stream_of(e);
    auto& v = versions[stream];
    auto env = to_envelope(e, v + 1, now);
    batch.streams.push_back({stream, v, {{env.type, std::move(env.data), now}}});
    ++v;
    ++events;
    if (batch.streams.size() >= 1000)
      flush();
  }

  void flush() {
    if (batch.streams.empty())
      return;
    auto r = store.append_sync(std::move(batch));
    if (r.error) {
      std::cerr << "append failed: " << r.error->message << "\n";
      std::exit(1);
    }
    batch = {};
  }
};

std::int64_t generate(event_store& store, std::int64_t orders) {
  log_writer w{store, {}, {}, 0};
  constexpr int products = 20;
  constexpr std::int64_t stock = 1700;
  std::vector<std::int64_t> available(products, stock);
  for (int p = 0; p < products; ++p)
    w.add(ProductDefined{"p" + std::to_string(p), "product", stock, 1000, 0, std::nullopt, 600});
  for (std::int64_t i = 0; i < orders; ++i) {
    ++w.now;
    auto p = static_cast<int>(i % products);
    auto pid = "p" + std::to_string(p);
    auto oid = "o-" + std::to_string(i);
    auto uid = "u-" + std::to_string(i);
    w.add(OrderPlaced{oid, uid, {{pid, 1}}, "", "h", w.now});
    // A third of the buyers try while units are free; the others meet a sold-out product.
    if (i % 3 == 0 && available[p] > 0) {
      --available[p];
      w.add(StockReserved{pid, oid, uid, 1, 1000});
      w.add(OrderReserved{oid, w.now + 600000, 1000, {{pid, 1, 1000}}});
      if (i % 30 == 0) { // one in ten winners pays
        w.add(OrderPaid{oid, "pay-" + oid, "evt-" + oid, 1000});
        w.add(StockSold{pid, oid, uid, 1});
      } else {
        ++available[p];
        w.add(OrderExpired{oid});
        w.add(StockReleased{pid, oid, uid, 1, release_reason::expired});
      }
    } else {
      w.add(OrderRejected{oid, "sold_out", "product '" + pid + "' is sold out"});
    }
  }
  w.flush();
  return w.events;
}

/// Every row through SQLite with the same columns a replay reads: the ceiling.
double raw_read(const std::string& path, std::int64_t& rows) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT seq, stream, version, type, data, recorded_at FROM events"
                     " ORDER BY seq",
                     -1, &st, nullptr);
  auto start = clock_type::now();
  rows = 0;
  std::size_t bytes = 0;
  while (sqlite3_step(st) == SQLITE_ROW) {
    bytes += static_cast<std::size_t>(sqlite3_column_bytes(st, 4));
    ++rows;
  }
  auto elapsed = seconds_since(start);
  sqlite3_finalize(st);
  sqlite3_close(db);
  if (bytes == 0)
    std::cerr << "(no data read)\n";
  return elapsed;
}

/// Spawns `flashsale serve` on the data dir and times the first 200 from /health.
double startup_seconds(const std::string& binary, const std::string& dir, int port) {
  std::vector<std::string> args{binary,  "serve",
                                "--set", "data_dir=" + dir,
                                "--set", "http.port=" + std::to_string(port),
                                "--set", "nats.url=off",
                                "--set", "store.snapshot_every=0"};
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  auto start = clock_type::now();
  if (posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ) != 0) {
    std::cerr << "cannot start " << binary << "\n";
    std::exit(1);
  }
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(0, 100000);
  double elapsed = -1;
  while (seconds_since(start) < 120) {
    if (auto r = client.Get("/health"); r && r->status == 200) {
      elapsed = seconds_since(start);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  posix_spawn_file_actions_destroy(&actions);
  return elapsed;
}

} // namespace

int main(int argc, char** argv) {
  std::int64_t orders = 1'000'000;
  std::string dir;
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--orders" && i + 1 < argc)
      orders = std::stoll(argv[++i]);
    else if (a == "--dir" && i + 1 < argc)
      dir = argv[++i];
    else if (a == "--keep")
      keep = true;
    else {
      std::cerr << "usage: replay_bench [--orders N] [--dir DIR] [--keep]\n";
      return 2;
    }
  }
  if (dir.empty())
    dir = std::filesystem::temp_directory_path()
          / ("flashsale-replay-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  auto path = dir + "/events.db";

  std::int64_t events = 0;
  {
    store_options options;
    options.path = path;
    options.sync = sync_mode::normal; // generating, not measuring durability
    auto opened = open_sqlite_event_store(options);
    if (auto err = std::get_if<store_error>(&opened)) {
      std::cerr << err->message << "\n";
      return 1;
    }
    auto& store = *std::get<0>(opened);
    if (store.last_seq() == 0) {
      auto start = clock_type::now();
      events = generate(store, orders);
      std::printf("generated    : %lld orders, %lld events in %.1f s\n",
                  static_cast<long long>(orders), static_cast<long long>(events),
                  seconds_since(start));
    } else {
      events = store.last_seq();
      std::printf("reusing      : %lld events in %s\n", static_cast<long long>(events),
                  path.c_str());
    }

  } // the store closes here and checkpoints its WAL, as a stopped node's store is

  // Measured as `flashsale replay --from-scratch` reads: read-only WAL connections.
  std::int64_t rows = 0;
  auto raw = raw_read(path, rows);
  std::printf("raw read     : %lld rows in %.2f s = %.0f rows/s (ceiling)\n",
              static_cast<long long>(rows), raw, rows / raw);
  {
    sqlite_reader_pool log(path, 1);
    auto start = clock_type::now();
    recovery_options scratch;
    scratch.use_snapshot = false;
    log_source source{
        [&log](std::int64_t after, std::size_t limit) { return log.read_from(after, limit); },
        [] { return std::optional<snapshot>{}; },
        {}};
    auto folded = recover_world(source, scratch);
    auto replay = seconds_since(start);
    std::printf("replay       : %lld events from scratch in %.2f s = %.0f events/s (%.2f of raw"
                " read; target >= 1M events/s)\n",
                static_cast<long long>(folded.events_folded), replay, folded.events_folded / replay,
                raw / replay);
    std::printf("world        : %zu products, %zu live orders kept, %zu decode errors\n",
                folded.state.products.size(), folded.state.orders.size(),
                folded.state.decode_errors.size());
  }
  std::string binary = FLASHSALE_BINARY;
  auto without = startup_seconds(binary, dir, 18471);
  std::printf("start-up     : %.2f s to first /health without a snapshot\n", without);
  {
    store_options options;
    options.path = path;
    auto opened = open_sqlite_event_store(options);
    auto& store = *std::get<0>(opened);
    auto folded = recover_world(log_source_of(store), {});
    snapshot s;
    s.seq = folded.state.last_seq;
    s.data = encode_world(folded.state);
    std::printf("snapshot     : %.1f MB at seq %lld\n", s.data.size() / 1e6,
                static_cast<long long>(s.seq));
    store.save_snapshot(std::move(s), [](std::optional<store_error>) {});
    store.flush();
  }
  auto with = startup_seconds(binary, dir, 18472);
  std::printf(
      "start-up     : %.2f s to first /health with a snapshot (target < 1 s); %.1fx faster\n", with,
      without / with);
  if (!keep)
    std::filesystem::remove_all(dir);
  return 0;
}
