// The fold of a whole event log: every product and (live) order, as node recovery,
// `flashsale replay` and the tests rebuild them, plus the checks `replay --verify` runs and
// the unfinished saga steps crash recovery resumes.
// invariant: folding the same envelopes in seq order always yields the same world; apply
// never throws (undecodable envelopes are listed in decode_errors and skipped).
// Pure: the caller reads the store and passes envelopes in.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "events/order.hpp"
#include "events/product.hpp"

namespace flashsale {

struct world {
  std::map<std::string, product_state> products;
  std::map<std::string, order_state> orders;
  std::map<order_status, std::int64_t> order_counts; ///< every order ever, by current status
  std::int64_t events = 0;                           ///< envelopes folded, decodable or not
  std::int64_t last_seq = 0;
  std::vector<std::string> decode_errors;
  /// When set, a terminal order is erased from `orders` once no product holds units for it
  /// (its counts stay), so memory is bounded by live orders. Events that arrive later for
  /// a forgotten order (a late PaymentRejected) are counted but not folded.
  bool forget_settled_orders = false;
};

/// Decodes and folds one envelope: product events into `products`, order events into
/// `orders` (at = env.recorded_at). An envelope whose stream is not stream_of(its event) is
/// recorded in decode_errors and skipped.
void apply(world& w, const envelope& env);

/// The same, with `decoded` = decode(env) computed elsewhere (recovery decodes on another
/// thread while this one folds).
void apply(world& w, const envelope& env, decode_result decoded);

/// Held units whose order has no events at all: a multi-item placement reserves item by item
/// and commits its order only once every item is held, so a crash in between leaves these.
/// Nobody was told of them: recovery gives them back. (product_id, order_id), sorted.
std::vector<std::pair<std::string, std::string>> orphan_holds(const world& w);

/// Human-readable violations; empty when the world is sound:
/// per product: available + reserved + sold == stock, nothing negative, reserved / sold /
/// user_units equal the sums of the holds, no user over per_user_limit;
/// per order and product: a reserved order's lines are held, a paid order's lines are sold
/// (or held: a pending sell step), a sold hold belongs to a paid order, a held hold belongs
/// to a known order (a terminal one is pending work, not a violation; so is an orphan hold).
std::vector<std::string> check_invariants(const world& w);

/// A saga step that a crash may have cut off.
struct pending_step {
  enum kind { resume_placement, sell, release };
  kind action = resume_placement;
  std::string order_id;
  std::string product_id;                               ///< empty for resume_placement
  release_reason reason = release_reason::compensation; ///< for release
};

/// Pending orders → resume_placement; paid orders with held units → sell; expired,
/// cancelled and rejected orders with held units → release (reason: expired, cancelled or
/// payment_failed, compensation); orphan holds → release (compensation). Ordered by order id,
/// then product id.
/// Overdue reserved orders are not listed: that needs the clock (compare expires_at).
std::vector<pending_step> pending_work(const world& w);

} // namespace flashsale
