// One rehearsal of a flash sale: set up the product, let `concurrency` worker threads (one
// keep-alive httplib::Client each) place orders closed- or open-loop, pay a share of the
// accepted orders through the webhook, then read the product back. Produces the raw figures;
// report.{hpp,cpp} judges them. Latency in an open loop is measured from each request's
// SCHEDULED send time, so a stalled node shows up as latency instead of fewer samples
// (no coordinated omission). Never throws; a setup failure is returned in setup_error.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cli/load/latency_histogram.hpp"
#include "cli/load/node_calls.hpp"
#include "cli/load/outcomes.hpp"
#include "cli/load/scenario.hpp"

namespace flashsale::load {

/// Latency of the orders sent in one 100 ms slice of the run.
struct timeline_point {
  double t_s = 0; ///< slice start, seconds since the first order
  std::uint64_t count = 0;
  std::uint64_t p50_us = 0;
  std::uint64_t p99_us = 0;
};

/// One order's latency, for the timeline.
struct latency_sample {
  std::uint32_t sent_ms;    ///< scheduled send (or arrival) time since the start
  std::uint32_t latency_us; ///< clamped to ~71 minutes
};

/// Exact p50/p99 per 100 ms slice of send time (sorts `samples`).
std::vector<timeline_point> timeline_of(std::vector<latency_sample>& samples);

/// What only a crowd run measures (scenario::crowd).
struct crowd_figures {
  std::uint64_t buyers = 0;       ///< connections opened, one per buyer
  std::uint64_t unanswered = 0;   ///< no complete answer within the buyer timeout
  std::uint64_t over_1s = 0;      ///< answered, but waited longer than 1 s
  std::uint64_t dropped_idle = 0; ///< closed by the server while holding idle after the answer
  std::uint64_t idle_sockets = 0; ///< silent sockets opened beside the crowd
  std::uint64_t idle_closed = 0;  ///< of those, closed by the server before the run ended
  std::uint64_t connect_failed = 0;
  double arrival_lag_ms = 0; ///< how far behind schedule the last buyer connected
};

struct run_result {
  scenario plan;
  std::string setup_error;            ///< non-empty: the run did not happen
  bool owned_product = false;         ///< the run created/reset the product itself
  std::optional<product_view> before; ///< right before the first order
  std::string before_error;           ///< why `before` is missing (GET failed)
  std::optional<product_view> after;  ///< after the orders and the payments
  std::string after_error;

  // Orders, by outcome.
  std::uint64_t requests = 0;
  std::uint64_t accepted = 0;
  std::uint64_t sold_out = 0;
  std::uint64_t shed = 0;                         ///< 429 / 503
  std::uint64_t errors = 0;                       ///< other 5xx, connection errors, junk
  std::map<std::string, std::uint64_t> other_4xx; ///< "409 limit_exceeded" -> n
  std::map<std::string, std::uint64_t> shed_by;   ///< "503 unavailable" -> n
  std::map<std::string, std::uint64_t> errors_by; ///< "500 internal", "Connection" -> n
  std::int64_t accepted_units = 0;
  double elapsed_s = 0; ///< first send to last answer
  latency_histogram latency;
  std::vector<timeline_point> timeline;

  // Payments (after the orders).
  std::uint64_t pay_attempted = 0;
  std::uint64_t pay_applied = 0;
  std::int64_t paid_units = 0;
  std::map<std::string, std::uint64_t> pay_failures_by;
  double pay_elapsed_s = 0;
  latency_histogram pay_latency;

  std::optional<crowd_figures> crowd; ///< set by a crowd run

  double throughput() const { return elapsed_s > 0 ? requests / elapsed_s : 0; }

  /// Takes the order outcomes of `tally` into the counts above; returns the accepted ids.
  std::vector<std::string> add_outcomes(outcome_tally&& tally);
};

/// A random tag for this run's idempotency keys: the same --seed twice against one node
/// must not replay the first run's answers.
std::string run_nonce();
/// The Idempotency-Key of the order with this ticket number.
std::string idempotency_key(const std::string& nonce, std::uint64_t ticket);
/// Buyer `buyer`'s user id, u-<seed>-<buyer>.
std::string buyer_id(const scenario& plan, std::uint64_t buyer);
/// The POST /orders body buyer `buyer` sends (single-item shorthand).
std::string order_body(const scenario& plan, std::uint64_t buyer);

/// Runs `plan`. Progress lines go to stderr every ~0.5 s (in place when it is a TTY).
run_result run_load(const scenario& plan);

} // namespace flashsale::load
