// The judge of a chaos run: the recorded history against the partition logs read once the
// cluster healed (the logs are the truth), the final reads from every node, and the liveness
// observations. Pure and deterministic: the same run_record gives the same verdict, so every
// property is unit-tested with synthetic histories (tests/chaos/checker_test.cpp).
//
// Properties (a violation names one of them):
// - lost / duplicate: every acknowledged order (201) is in the logs exactly once, with what it
//   answered; a key places one order; a payment event applies once.
// - unreadable: every acknowledged order reads the same from every node; every product's
//   view on every node equals its log.
// - oversold / stock_leak (tests/chaos/log_fold.hpp): never over stock at any point of a log,
//   no unit held twice, holds and sales agree with their orders at the end.
// - ownership / integrity (log_fold.hpp): after each claim only the claimant writes; no fork,
//   every envelope where its sequence says.
// - stale_answer: every answer agrees with the log's order: a 201 whose reservation was
//   recorded outside its call, a 409 sold_out while the log shows enough stock throughout the
//   call (no hold racing it), a cancel or payment answered unlike the log.
// - refusal: no refusal the API does not give for the call (a keyed retry after a 503
//   refused 409 invalid_state: docs/API.md says it is decided afresh).
// - expiry: no hold outlives its expiry (plus a grace) at the end.
// - liveness: after the last fault healed, every partition answers within 15 s and the sale
//   finishes (every unit sold); no process exits unless killed (crash).
// Unknown outcomes (no answer, 5xx) are resolved from the logs: happened or not.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tests/chaos/history.hpp"
#include "tests/chaos/log_fold.hpp"
#include "tests/chaos/partition_log.hpp"

namespace flashsale::testing::chaos {

struct product_spec {
  std::string id;
  int partition = 0;
  std::int64_t stock = 0;
  std::int64_t price_cents = 0;
};

/// What one node answered for a resource once the cluster healed.
struct order_read {
  int status = 0;
  std::string order_status; ///< the body's "status" when 200
};
struct product_read {
  int status = 0;
  counts view;
};

/// A fault as it was injected: from its start to its heal (Unix ms).
struct fault_window {
  std::string kind; ///< tests/chaos/schedule.hpp's step kind
  std::string text; ///< the rendered step
  unix_ms start = 0, end = 0;
};

struct run_record {
  std::uint64_t seed = 0;
  std::string schedule; ///< rendered, for the report
  int partitions = 0;
  std::vector<product_spec> products;
  std::vector<std::string> nodes;
  std::vector<operation> history;
  std::vector<partition_log> logs;
  unix_ms logs_read_at = 0;
  /// node -> order id -> its answer (every order a 201 or the logs name, from every node).
  std::map<std::string, std::map<std::string, order_read>> order_reads;
  /// node -> product id -> its answer.
  std::map<std::string, std::map<std::string, product_read>> product_reads;
  /// partition -> every moment some node answered for it (probes, 2xx and 409s), sorted.
  std::map<int, std::vector<unix_ms>> served;
  std::vector<fault_window> faults;     ///< in order
  unix_ms last_heal = 0;                ///< when the last fault was undone
  unix_ms observed_until = 0;           ///< when the probes stopped (windows end there)
  std::optional<unix_ms> sale_finished; ///< when every product showed every unit sold
  /// partition -> what `flashsale replay --partition P --verify` said when it failed.
  std::map<int, std::string> replay_failures;
  /// Processes that exited without being killed: "node2 exited 1: <its last lines>".
  std::vector<std::string> crashes;
};

/// A defect found and reported but not fixed yet: violations that match it are set apart
/// (verdict::known), so a run fails only on what is new. Each has a regression test that
/// runs without it; remove the entry with the fix.
struct known_defect {
  std::string property; ///< the violation's property
  std::string contains; ///< a piece of its message
  std::string reason;   ///< what it is and where it is tracked
};

struct checker_options {
  std::vector<known_defect> known;
  /// Clock slack between a call's times and a record's recorded_at (ms granularity, the
  /// record stamped before it commits).
  std::int64_t slack_ms = 20;
  std::int64_t serve_within_ms = 15000;
  /// A hold may outlive its expires_at by this much (the new owner's recovery).
  std::int64_t expiry_grace_ms = 10000;
};

/// The longest a partition went unanswered during one fault's window.
struct unavailability {
  std::int64_t ms = 0;
  int partition = -1;
};

struct verdict {
  std::vector<violation> violations;
  /// Violations of known defects (checker_options::known), with the reason after the message.
  std::vector<violation> known;
  int acknowledged_orders = 0; ///< distinct orders answered 201, each checked in the logs
  /// Calls with no answer (timeout, refused, reset), and those the logs show happened.
  int no_answer = 0, no_answer_happened = 0;
  /// Calls answered 5xx (503 unavailable), and those the logs show happened all the same.
  int unavailable = 0, unavailable_happened = 0;
  /// "place 201" -> how many, for every kind of call and status (0 = no answer).
  std::map<std::string, int> answers;
  /// Per fault window (run_record::faults), its longest unavailability.
  std::vector<unavailability> per_fault;
  /// fault kind -> the longest time a partition went unanswered around one of its faults.
  std::map<std::string, std::int64_t> longest_unavailable_ms;
  std::optional<std::int64_t> recovery_ms; ///< last heal -> every partition answered
  std::size_t records = 0, events = 0, claims = 0;

  bool ok() const { return violations.empty(); }
  /// The figures in one line: "acknowledged orders 57, no answer 4 (1 happened), ...".
  std::string figures() const;
  /// Seed, schedule, each violation with its history entries and records.
  std::string report(const run_record& run) const;
};

verdict check(const run_record& run, const checker_options& o = {});

/// Per fault, the longest time within its window (from its start to `after_ms` past its heal,
/// cut at the next fault's start and at `until`) that a partition went unanswered: the
/// longest gap between two moments it answered, counted from the window's start. Separate
/// so it can be tested alone.
std::vector<unavailability> unavailable_per_fault(const std::vector<fault_window>& faults,
                                                  const std::map<int, std::vector<unix_ms>>& served,
                                                  std::int64_t after_ms, unix_ms until);

} // namespace flashsale::testing::chaos
