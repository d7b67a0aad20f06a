// One chaos run, start to verdict, from one seed: a fresh network and cluster
// (tests/chaos/chaos_cluster), products spread over every partition, buyers and probes
// (workload), the seed's fault schedule (nemesis), then the heal, the end of the sale, the
// partition logs, a read of everything from every node, `flashsale replay --verify` per
// partition, and the checker's verdict. Prints its progress, the schedule and the verdict.
//
// Timeline (lease 1.5 s): the cluster settles (5-15 s), the workload runs alone 1.5 s, faults
// for ~6-20 s, then the heal; the sale ends a hold or two later.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

#include "tests/chaos/checker.hpp"
#include "tests/chaos/schedule.hpp"

namespace flashsale::testing::chaos {

struct run_options {
  std::uint64_t seed = 1;
  std::string flashsale;   ///< the binary
  std::string nats_server; ///< >= 2.12
  int partitions = 6;
  std::int64_t lease_ms = 1500;
  int buyers = 4;
  std::int64_t hold_seconds = 3;
  schedule_options schedule;
  /// Defects reported but not fixed yet: their violations are set apart (checker.hpp).
  std::vector<known_defect> known;
  std::ostream* progress = nullptr; ///< where to print as it goes (nullptr: nowhere)
};

struct run_result {
  std::string setup_failure; ///< non-empty: the cluster never came up; there is no verdict
  run_record record;
  verdict judged;
  int faults = 0;
  double seconds = 0;
  /// One line of JSON with the figures (appended to $CHAOS_REPORT by the tests).
  std::string figures_json() const;
};

run_result run_chaos(const run_options& o);

} // namespace flashsale::testing::chaos
