// The buyers of a chaos run and the probes that time each partition's answers, all inside the
// test's client host, all over HTTP to random nodes (black-box). Every call goes into the
// history (tests/chaos/history.hpp) with its invoke and complete times and its answer.
//
// A buyer places keyed orders (one item, or two of one partition), then pays (signed
// webhook, sometimes a failed payment), cancels, or lets the hold expire. A call with no
// answer or a 5xx is retried with the same Idempotency-Key / event id on a random node, each
// attempt its own history entry. drain() is the end of the sale: every hold from then on is
// paid at once and buyers buy until every unit is sold. Buyers draw from their own seeded
// generators, so a seed replays the same intentions (not the same timings).
//
// A prober per partition reads one product of it every ~100 ms through the nodes in turn;
// its 200s, and the workload's 2xx and 409s, are the moments that partition answered
// (served_log), from which the checker measures unavailability and liveness.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/chaos/checker.hpp"
#include "tests/chaos/history.hpp"
#include "tests/support/netns.hpp"

namespace flashsale::testing::chaos {

struct http_answer;

/// The wall clock in ms: what nodes stamp their records with (same machine).
unix_ms now_ms();

/// The moments each partition answered.
class served_log {
public:
  void record(int partition, unix_ms at);
  std::map<int, std::vector<unix_ms>> snapshot() const;
  /// Every partition in [0, partitions) answered at or after `since`.
  bool all_since(unix_ms since, int partitions) const;

private:
  mutable std::mutex mutex_;
  std::map<int, std::vector<unix_ms>> at_;
};

struct node_address {
  std::string name, address;
};

struct workload_options {
  std::uint64_t seed = 0;
  std::vector<node_address> nodes;
  std::vector<product_spec> products;
  /// Products sharing a partition, for two-item orders.
  std::vector<std::vector<std::string>> same_partition;
  int partitions = 6;
  int buyers = 4;
  std::string webhook_secret;
  std::chrono::milliseconds pace{80}; ///< a buyer's mean pause between calls
};

class workload {
public:
  workload(const netns::host& client, history& h, served_log& served, workload_options o);
  ~workload(); ///< stops
  void start();
  /// From now on every new hold is paid at once, payments are retried until answered, and
  /// buyers buy until everything is sold.
  void drain();
  void stop();

private:
  struct intention; // a call to make (again)
  struct buyer_state;
  void buyer(int c);
  void prober(int partition);
  void act(buyer_state& b, intention& next);
  /// What to do after a call's answer: its follow-ups or its retry.
  void after_place(buyer_state& b, intention& next, operation& op, const http_answer& a);
  void after_settle(buyer_state& b, intention& next, const operation& op);

  const netns::host& client_;
  history& history_;
  served_log& served_;
  workload_options o_;
  std::atomic<bool> stopping_{false}, draining_{false};
  std::vector<std::thread> threads_;
};

} // namespace flashsale::testing::chaos
