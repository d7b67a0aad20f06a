// Seeded chaos runs against real processes (root; tests/chaos/chaos_run.hpp): three
// nats-servers and three nodes in network namespaces, a workload, the seed's faults, the
// checker's verdict. A run fails when the checker finds a violation; its output has the seed,
// the schedule and the offending history entries.
//
// - ChaosSeeds/ChaosSeed.Run/<seed>: the CI set, seeds 1..10 (`ctest -L chaos`).
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

/// The run's options, or a reason it cannot run here.
std::optional<run_options> options_for(std::uint64_t seed) {
  if (::geteuid() != 0) {
    ADD_FAILURE() << "chaos runs build network namespaces: run as root (or ctest -LE chaos)";
    return std::nullopt;
  }
  run_options o;
  o.seed = seed;
  o.flashsale = FLASHSALE_BINARY;
  o.nats_server = find_nats_server();
  if (o.nats_server.empty()) {
    ADD_FAILURE() << "no nats-server >= 2.12: set CHAOS_NATS_SERVER or build the deps "
                     "(build/deps/nats/root/usr/sbin/nats-server)";
    return std::nullopt;
  }
  o.progress = &std::cout;
  return o;
}

void record(const run_result& r) {
  if (const char* path = std::getenv("CHAOS_REPORT"); path && *path)
    std::ofstream(path, std::ios::app) << r.figures_json() << "\n";
}

/// Runs one seed and fails the test with the report when the checker found anything.
void run_seed(std::uint64_t seed) {
  auto o = options_for(seed);
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

INSTANTIATE_TEST_SUITE_P(ChaosSeeds, ChaosSeed, ::testing::Range<std::uint64_t>(1, 11),
                         [](const auto& info) { return std::to_string(info.param); });

// Seeds that found a defect, kept (tests/chaos in docs/TESTING.md lists them).
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
  run_seed(7);
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
