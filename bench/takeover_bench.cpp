// The take-over of a partition holding many events (issue 21: 1M events served again in <= 2 s):
// an owner sells through a real node on one partition's store (its snapshotter writing
// snapshots to JetStream as in production) until the log holds --events events, hands the
// partition over, and a new owner opens it: claim, latest snapshot, the tail after it, the
// node's recovery. Prints what the opening read and how long each step took.
//   takeover_bench --nats URLS [--events N] [--products K] [--threads T] [--snapshot-every S]
//                  [--pay 1]
// --pay 1 pays every order after placing it (5 events an order, settled orders leave the
// state): a sale's log; without it every order stays reserved (333k live orders at 1M events),
// the largest state a partition of that log can have.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "cluster/partition_store.hpp"
#include "cluster/partitioning.hpp"
#include "config/config.hpp"
#include "node/node.hpp"

using namespace flashsale;
using namespace flashsale::cluster;
using steady = std::chrono::steady_clock;

namespace {

double ms_since(steady::time_point t) {
  return std::chrono::duration<double, std::milli>(steady::now() - t).count();
}

struct opened {
  std::shared_ptr<partition_store> store;
  std::unique_ptr<node> inner;
  double open_ms = 0, start_ms = 0;
};

opened open_partition(partition_stream& log, snapshot_store& snapshots, const writer_id& who,
                      node_config config, const std::string& dir) {
  opened out;
  partition_store_options o;
  o.partition = 0;
  o.writer = who;
  o.lease_ms = config.cluster.lease_ms;
  auto t = steady::now();
  auto s = partition_store::open(log, snapshots, o);
  if (auto e = std::get_if<open_refused>(&s)) {
    std::fprintf(stderr, "open: %s\n", e->message.c_str());
    std::exit(1);
  }
  out.store = std::move(std::get<0>(s));
  out.open_ms = ms_since(t);
  config.data_dir = dir;
  node_options no;
  no.store = out.store;
  no.bounded_snapshot_tail = true; // as cluster mode runs a partition
  t = steady::now();
  auto n = node::start(config, std::move(no));
  if (auto e = std::get_if<std::string>(&n)) {
    std::fprintf(stderr, "node: %s\n", e->c_str());
    std::exit(1);
  }
  out.inner = std::move(std::get<0>(n));
  out.start_ms = ms_since(t);
  return out;
}

void report(const char* what, const opened& o) {
  auto& r = o.store->report();
  std::printf("%s: claim at seq %llu; snapshot covering %llu (%zu bytes) read in %lld ms; %zu "
              "records after it read in %lld ms; open %.0f ms in all; node recovery %.0f ms; "
              "total %.0f ms\n",
              what, static_cast<unsigned long long>(r.claim_seq),
              static_cast<unsigned long long>(r.snapshot_covers), r.snapshot_bytes,
              static_cast<long long>(r.snapshot_took.count()), r.tail_records,
              static_cast<long long>(r.tail_took.count()), o.open_ms, o.start_ms,
              o.open_ms + o.start_ms);
}

} // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> arg{{"--events", "1000000"},
                                         {"--products", "10"},
                                         {"--threads", "8"},
                                         {"--snapshot-every", "50000"},
                                         {"--pay", "0"}};
  for (int i = 1; i + 1 < argc; i += 2)
    arg[argv[i]] = argv[i + 1];
  const long long events = std::stoll(arg["--events"]);
  const int products = std::stoi(arg["--products"]), threads = std::stoi(arg["--threads"]);
  const bool pay = arg["--pay"] == "1";
  auto link_or = nats_link::connect({split_nats_urls(arg["--nats"]), "takeover-bench", 5000});
  if (auto e = std::get_if<std::string>(&link_or)) {
    std::fprintf(stderr, "%s\n", e->c_str());
    return 1;
  }
  auto link = std::get<0>(link_or);
  partition_stream log(link, {});
  std::unique_ptr<snapshot_store> snapshots;
  for (int i = 0; i < 100 && !snapshots; ++i) {
    auto s = snapshot_store::open(link);
    if (auto p = std::get_if<std::unique_ptr<snapshot_store>>(&s))
      snapshots = std::move(*p);
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (!snapshots)
    return 1;
  auto root =
      std::filesystem::temp_directory_path() / ("takeover-bench-" + std::to_string(getpid()));
  node_config config;
  config.nats.url = "off";
  config.actors.threads = 1;
  config.store.snapshot_every = std::stoll(arg["--snapshot-every"]);
  config.cluster.lease_ms = 3000;

  // The owner sells until the log holds the events: every order is three events (the
  // reservation, the order placed and reserved), committed in groups as in production.
  auto a = open_partition(log, *snapshots, {"owner-a", 1}, config, (root / "a").string());
  for (int p = 0; p < products; ++p) {
    define_product d;
    d.product_id = "bench-" + std::to_string(p);
    d.name = d.product_id;
    d.stock = 1'000'000'000;
    d.hold_seconds = 86400; // nothing expires during the bench
    a.inner->define(d);
  }
  std::atomic<long long> placed{0};
  const long long orders = events / (pay ? 5 : 3);
  auto began = steady::now();
  std::vector<std::thread> buyers;
  for (int t = 0; t < threads; ++t)
    buyers.emplace_back([&, t] {
      for (long long i = t; i < orders; i += threads) {
        order_request r;
        r.user_id = "u-" + std::to_string(i);
        r.items.push_back({"bench-" + std::to_string(i % products), 1});
        auto out = a.inner->place(r);
        auto* placed_one = std::get_if<placed_order>(&out.result);
        if (!placed_one)
          continue;
        ++placed;
        if (pay)
          a.inner->command(placed_one->order_id,
                           payment_succeeded{"evt-" + placed_one->order_id,
                                             "pay-" + placed_one->order_id, std::nullopt});
      }
    });
  for (auto& t : buyers)
    t.join();
  a.inner->flush();
  auto fill_s = ms_since(began) / 1000;
  std::printf("filled: %lld orders (%lld events) in %.0f s (%.0f orders/s), %lld snapshots\n",
              placed.load(), placed.load() * (pay ? 5 : 3), fill_s,
              static_cast<double>(placed) / fill_s,
              static_cast<long long>(a.inner->stats().snapshots_written));
  a.inner.reset();
  a.store->release(); // handed over: the new owner need not wait out a window
  a.store.reset();

  auto b = open_partition(log, *snapshots, {"owner-b", 2}, config, (root / "b").string());
  report("take-over from the snapshot and the tail", b);
  b.inner.reset();
  b.store->release();
  b.store.reset();
  std::filesystem::remove_all(root);
  return 0;
}
