// The nemesis' fault schedule, drawn from a seed: the same seed gives the same schedule on
// every run and every machine (our own generator, not the standard library's distributions,
// whose results differ between implementations). Pure: no clock, no I/O.
//
// A schedule is a list of steps at offsets from the start of the fault phase; a step starts
// one fault, or a combination of two on different targets (started 0-1 s apart). Each fault
// heals itself after its duration (a killed process restarts then); steps never overlap, and
// the schedule ends when its last fault has healed. Rendered (printed before every run, and
// with every violation) as one line per fault:
//   +1500ms cut node2/nats for 2100ms
//   +5200ms combination: kill node1, restart after 900ms | +5700ms isolate s3 for 3000ms
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace flashsale::testing::chaos {

/// splitmix64: small, fast, and the same sequence everywhere for a seed.
class seeded_random {
public:
  explicit seeded_random(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next();
  /// Uniform in [lo, hi] (inclusive); lo <= hi.
  std::int64_t between(std::int64_t lo, std::int64_t hi);
  /// True with probability percent/100.
  bool chance(int percent) { return between(0, 99) < percent; }
  /// One element of a non-empty vector.
  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[static_cast<std::size_t>(between(0, static_cast<std::int64_t>(v.size()) - 1))];
  }
  /// Fisher-Yates, with this generator.
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (std::size_t i = v.size(); i > 1; --i)
      std::swap(v[i - 1],
                v[static_cast<std::size_t>(between(0, static_cast<std::int64_t>(i) - 1))]);
  }

private:
  std::uint64_t state_;
};

enum class fault_kind {
  cut_node_nats,  ///< a node's NATS link down; buyers still reach it
  isolate_server, ///< one nats-server reaches nobody, nobody reaches it
  split,          ///< servers and nodes in two groups, 2|1, no packet between them
  flap,           ///< a NATS link down and up, several times
  pause_node,     ///< SIGSTOP past the lease, then SIGCONT
  kill_node,      ///< SIGKILL, restarted after a while on its data dir
  kill_server,    ///< SIGKILL, restarted after a while on its store
};
const char* to_string(fault_kind k);

struct fault {
  fault_kind kind = fault_kind::cut_node_nats;
  std::int64_t at_ms = 0;                       ///< from the start of the fault phase
  std::int64_t duration_ms = 0;                 ///< until healed (kill: until restarted)
  std::string target;                           ///< a host: node<i> or s<i> (none for split)
  std::vector<std::vector<std::string>> groups; ///< split: the two sides
  int flaps = 0;                                ///< flap: how many times down
  std::int64_t down_ms = 0, up_ms = 0;          ///< flap: each period
  std::int64_t end_ms() const { return at_ms + duration_ms; }
  std::string render() const;
};

/// One step: one fault, or a combination started together.
struct step {
  std::vector<fault> faults;
  /// "cut_node_nats", ..., or "combination" when several.
  std::string kind() const;
  std::int64_t at_ms() const;
  std::int64_t end_ms() const;
  std::string render() const;
};

struct schedule_options {
  std::vector<std::string> nodes{"node1", "node2", "node3"};
  std::vector<std::string> servers{"s1", "s2", "s3"};
  std::int64_t lease_ms = 1500;
  int min_steps = 2, max_steps = 3;
  std::int64_t first_at_ms = 1500; ///< the workload warms up before the first fault
  int combination_percent = 30;
};

struct schedule {
  std::uint64_t seed = 0;
  std::vector<step> steps;
  /// When the last fault has healed (0 for no steps).
  std::int64_t end_ms() const;
  int fault_count() const;
  /// "seed N, K faults:\n" then one line per step.
  std::string render() const;
};

schedule make_schedule(std::uint64_t seed, const schedule_options& o = {});

} // namespace flashsale::testing::chaos
