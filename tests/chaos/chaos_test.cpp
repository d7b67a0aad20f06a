// Seeded chaos runs against real processes (root; tests/chaos/chaos_run.hpp): three
// nats-servers and three nodes in network namespaces, a workload, the seed's faults, the
// checker's verdict. A run fails when the checker finds a violation; its output has the seed,
// the schedule and the offending history entries.
//
// - ChaosSeeds/ChaosSeed.Run/<seed> and ChaosRegression.*: the CI set, seeds 1..8 and the
//   seeds that found a defect (`ctest -L chaos`): ten seeded runs.
// - ChaosSeed.FromEnvironment: CHAOS_SEED=N replays seed N (skipped when unset).
// - ChaosLong.Runs: CHAOS_RUNS=N runs N seeds from CHAOS_FIRST_SEED (default 1000) and prints
//   the figures (bench/chaos.sh runs it; skipped when unset).
// Every run appends one JSON line of figures to $CHAOS_REPORT when it is set.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>

#include <gtest/gtest.h>

#include "tests/chaos/chaos_cluster.hpp"
#include "tests/chaos/chaos_run.hpp"

namespace flashsale::testing::chaos {
namespace {

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

/// Defects the harness found that are not fixed yet (docs/TESTING.md, "Chaos runs"): a run
/// reports their violations apart and fails only on anything else, unless CHAOS_STRICT=1.
/// Each has a regression test below that runs strict (disabled while it is not fixed).
/// Remove an entry with its fix.
const std::vector<known_defect> known_defects{
    {"stale_answer", "resting on a racing hold that never committed",
     "a keyed order's sold_out is answered from holds decided but not yet durable, one of which "
     "then failed to commit (actors/inventory_actor.cpp reserve_atom answers at once); "
     "regression ChaosRegression.Seed1002"},
};

enum class strictness { known_allowed, strict };

/// The run's options, or a reason it cannot run here.
std::optional<run_options> options_for(std::uint64_t seed,
                                       strictness s = strictness::known_allowed) {
  if (::geteuid() != 0) {
    ADD_FAILURE() << "chaos runs build network namespaces: run as root (or ctest -LE chaos)";
    return std::nullopt;
  }
  run_options o;
  o.seed = seed;
  // bench/chaos.sh runs a copy: a rebuild during an hour of runs must not swap it mid-run.
  const char* binary = std::getenv("CHAOS_FLASHSALE");
  o.flashsale = binary && *binary ? binary : FLASHSALE_BINARY;
  o.nats_server = find_nats_server();
  if (o.nats_server.empty()) {
    ADD_FAILURE() << "no nats-server >= 2.12: set CHAOS_NATS_SERVER or build the deps "
                     "(build/deps/nats/root/usr/sbin/nats-server)";
    return std::nullopt;
  }
  o.progress = &std::cout;
  if (s == strictness::known_allowed && !std::getenv("CHAOS_STRICT"))
    o.known = known_defects;
  return o;
}

void record(const run_result& r) {
  if (const char* path = std::getenv("CHAOS_REPORT"); path && *path)
    std::ofstream(path, std::ios::app) << r.figures_json() << "\n";
}

/// Runs one seed and fails the test with the report when the checker found anything.
void run_seed(std::uint64_t seed, strictness s = strictness::known_allowed) {
  auto o = options_for(seed, s);
  if (!o)
    return;
  auto r = run_chaos(*o);
  record(r);
  ASSERT_EQ(r.setup_failure, "") << "seed " << seed;
  EXPECT_TRUE(r.judged.ok()) << r.judged.report(r.record);
  std::cout << "seed " << seed << ": " << r.faults << " faults, " << r.judged.figures() << ", "
            << r.seconds << " s\n";
}

class ChaosSeed : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(ChaosSeed, Run) {
  run_seed(GetParam());
}

// Seeds 7, 14 and 1015 run as ChaosRegression.Seed...: with them, ten seeded runs. Seeds 9
// and 10 left the set when seed 14's regression joined it, to keep CI near 5 minutes.
INSTANTIATE_TEST_SUITE_P(ChaosSeeds, ChaosSeed, ::testing::Values(1, 2, 3, 4, 5, 6, 8),
                         [](const auto& info) { return std::to_string(info.param); });

// Seeds that found a defect, kept (tests/chaos in docs/TESTING.md lists them). Each fails on
// any violation but the known defects' (known_defects), as the seeded runs do: a known defect
// has its own regression, and seed 14 once failed CI on seed 1002's kind (a 409 resting on a
// hold whose commit then timed out during s2's isolation), which says nothing of seed 14's own.
//
// Seed 7 (node1 killed and node2 paused, node2 killed while s3 flaps, node1 cut from NATS
// while s3 is killed): a heartbeat's answer was lost, the next group commit was fenced by
// that heartbeat, and the node re-sent the group after the log's new head with envelopes
// still stamped for the old one (seq 70 in message 71...). Every later open of the
// partition refused the log ("record 71 of partition 0 is not an event of this log"), so the
// partition was never served again: 2 of 2 runs before the fix in
// cluster/partition_store.cpp (append_fenced no longer re-sends), seeds 2, 3, 8 and 10 also
// hit it about half the time.
TEST(ChaosRegression, Seed7EventsAreNeverResentWithAStaleSequence) {
  run_seed(7); // its own defect strictly; the known ones (known_defects) apart
}

// Seed 1015 (node2 paused past its lease, then cut from NATS, then a split s1 s3 node2 |
// s2 node1 node3): node2's reopen of partition 3 at epoch 54 was under way when the keeper
// took the partition from it and gave it back at epoch 90; the reopen then found node3's
// later claim (epoch 68), and, superseded, cleared the slot's wanted epoch, which by then was
// 90, so the start queued for epoch 90 did nothing. node2 held partition 3's lease ever after
// and nobody served it: 19 s without an answer until the run ended, every read 503. Fixed in
// node/cluster_node.cpp (forget(): only the epoch that failed is forgotten).
TEST(ChaosRegression, Seed1015AReassignedPartitionIsServedAgain) {
  run_seed(1015); // its own defect strictly; the known ones (known_defects) apart
}

// Seed 14 (node3's NATS link flapping, then s2 isolated): node3's group commit of a keyed
// order timed out after the order's StockReserved was durable (503 "partition 1 refuses
// writes"); the partition reopened and its recovery released the orphan hold (StockReleased
// "compensation"); the buyer's retry with the same key, 1.7 s later, was refused 409
// invalid_state "order 'o-…' already released product 's14-3'", and so is every later retry:
// the key's order id is derived from the key, and a product never holds for an order id it
// released. docs/API.md says a keyed request refused (503 included) is decided afresh. Seen in
// seeds 10 and 14 (2 of ~25 runs), and in the long runs. Fixed in node/node.cpp and
// actors/order_saga_actor.cpp: the saga says the id is spent, and the node decides the
// request afresh under the key's next id (tests/http HttpIdempotency.AKeyedRetryIsDecided...
// shows the same without a fault).
TEST(ChaosRegression, Seed14AKeyedRetryAfterA503IsDecidedAfresh) {
  run_seed(14); // its own defect strictly; the known ones (known_defects) apart
}

// Seed 1002 (node2 cut from NATS with s3 flapping, node2 cut again, s1 flapping): node2 owned
// partition 1; a two-item order took the last unit of s1002-3 in memory at +0 ms and its
// group commit then timed out (503 "partition 1 refuses writes: append: Timeout", 640 ms
// later); meanwhile a keyed order for that unit, forwarded by node1, was answered 409
// sold_out ("has only 0 units available") 20 ms after the hold was decided. The hold never
// reached the log: the unit was free, the buyer was told it was not. A keyed order's items
// are reserved through reserve_atom, which answers at once, before the holds it rests on are
// durable (place_whole, for unkeyed orders, waits). Seen once in ~35 runs. Disabled until
// fixed: it fails when the timing reproduces it.
TEST(ChaosRegression, DISABLED_Seed1002ASoldOutNeverRestsOnAHoldThatIsNotDurable) {
  run_seed(1002, strictness::strict);
}

TEST(ChaosSeed, FromEnvironment) {
  if (!std::getenv("CHAOS_SEED"))
    GTEST_SKIP() << "set CHAOS_SEED=N to replay seed N";
  run_seed(env_number("CHAOS_SEED", 0));
}

TEST(ChaosLong, Runs) {
  const auto runs = env_number("CHAOS_RUNS", 0);
  if (runs == 0)
    GTEST_SKIP() << "set CHAOS_RUNS=N (bench/chaos.sh N)";
  const auto first = env_number("CHAOS_FIRST_SEED", 1000);
  int failed = 0;
  for (std::uint64_t seed = first; seed < first + runs; ++seed) {
    auto o = options_for(seed);
    if (!o)
      return;
    auto r = run_chaos(*o);
    record(r);
    if (!r.setup_failure.empty() || !r.judged.ok()) {
      ++failed;
      ADD_FAILURE() << "seed " << seed << ": "
                    << (r.setup_failure.empty() ? r.judged.report(r.record) : r.setup_failure);
    }
    std::cout << "seed " << seed << ": " << r.faults << " faults, " << r.judged.figures() << ", "
              << r.seconds << " s\n";
  }
  std::cout << runs << " runs, " << failed << " failed\n";
}

} // namespace
} // namespace flashsale::testing::chaos
