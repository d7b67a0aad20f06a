// The partition logs folded the way a judge reads them: record by record, in stream order,
// checking on the way what must hold at *every* point of a log, not only at its end:
// - ownership: every record names its writer; a claim's epoch never goes back (the same
//   writer may claim again: a reopen); after a claim only the claimant writes, and after its
//   release nobody but a new claimant;
// - integrity (no fork): each event stream's versions are 1, 2, 3... and an envelope's seq is
//   its message's sequence (a reader checking it refuses the log); each event sits in the
//   partition its id hashes to;
// - stock: available, reserved and sold never negative, never over the stock; a release or a
//   sale only of units the order holds, a reservation at most once per order and product;
// - orders: placed once, one (user, key) one order, no step after a terminal status;
// and at the end: each product's holds are exactly the lines of its reserved orders, its
// sales those of its paid orders. Pure: records in, facts and violations out.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tests/chaos/partition_log.hpp"

namespace flashsale::testing::chaos {

struct violation {
  std::string property; ///< "ownership", "integrity", "oversold", "lost", "stale_answer", ...
  std::string message;
  std::vector<int> ops;             ///< history entries involved
  std::vector<std::string> records; ///< log records involved, rendered
  std::optional<unix_ms> at;        ///< when it happened, if one moment
};

struct counts {
  std::int64_t stock = 0, available = 0, reserved = 0, sold = 0;
  bool operator==(const counts& o) const {
    return stock == o.stock && available == o.available && reserved == o.reserved && sold == o.sold;
  }
  std::string render() const;
};

/// A product as its log left it, and its availability over time.
struct product_fold {
  bool defined = false;
  counts now;
  std::map<std::string, std::int64_t> held; ///< order -> units reserved
  std::map<std::string, std::int64_t> sold; ///< order -> units sold
  /// How `available` changed, event by event in log order.
  struct change {
    unix_ms decided = 0; ///< recorded_at: when the owner decided it
    unix_ms stored = 0;  ///< when the stream stored it (durable: anyone may rely on it)
    std::int64_t delta = 0;
  };
  std::vector<change> changes;
  /// A lower bound of `available` at every moment of [from, to], its least value: a
  /// reservation counts from when it was decided (an answer may rest on it at once), a
  /// release or a definition only from when the stream stored it (no answer may rest on it
  /// before). nullopt when nothing about the product is known by `to`.
  std::optional<std::int64_t> min_available(unix_ms from, unix_ms to) const;
};

/// An order as its log left it.
struct order_fold {
  int partition = -1;
  std::string user_id, key;
  std::vector<item> items;
  int placed = 0;              ///< OrderPlaced records (1 when all is well)
  std::string status = "none"; ///< "placed", "reserved", "paid", "cancelled", "expired", "rejected"
  unix_ms placed_at = 0, reserved_at = 0, ended_at = 0; ///< recorded_at of those steps
  unix_ms expires_at = 0;
  std::int64_t total_cents = 0;
  std::string cancel_reason;
  /// event id -> (type that carried it, recorded_at): OrderPaid, OrderCancelled,
  /// PaymentRejected.
  std::map<std::string, std::pair<std::string, unix_ms>> payments;
  bool terminal() const {
    return status == "paid" || status == "cancelled" || status == "expired" || status == "rejected";
  }
};

struct fold {
  std::map<std::string, product_fold> products;
  std::map<std::string, order_fold> orders;
  /// (user, key) -> the orders placed with it.
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> keyed;
  /// event id -> order ids whose log carries it.
  std::map<std::string, std::set<std::string>> payment_events;
  std::vector<violation> violations;
  std::size_t records = 0, events = 0, claims = 0;
};

/// Folds every partition's log (each alone: partitions share nothing).
fold fold_logs(const std::vector<partition_log>& logs, int partitions);

} // namespace flashsale::testing::chaos
