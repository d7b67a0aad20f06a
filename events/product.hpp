// A product's inventory: its definition, its counts, and one hold per order that reserved it.
// `decide` turns an inventory command into events or a rejection; `apply` folds an event in.
// invariant: available() + reserved + sold == stock, all >= 0; reserved and sold equal the
// sums of held and sold holds; no user holds more than per_user_limit (when > 0).
// Runs inside the product's inventory actor and in replay; pure, no clock (time is passed in).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "events/event.hpp"

namespace flashsale {

enum class hold_state { held, sold, released };

const char* to_string(hold_state s);

/// One order's reservation of this product. Kept after release/sale so that a retried
/// command for the same order is recognised (idempotency by order id).
struct hold {
  std::string user_id;
  std::int64_t quantity = 0;
  std::int64_t unit_price_cents = 0;
  hold_state state = hold_state::held;
};

/// The definition (events/product_fields.hpp) and what the inventory keeps beside it.
struct product_state : product_definition {
  bool exists = false; ///< a ProductDefined was applied
  std::int64_t reserved = 0;
  std::int64_t sold = 0;
  std::int64_t version = 0;          ///< number of product events applied = stream version
  std::map<std::string, hold> holds; ///< by order id
  std::map<std::string, std::int64_t> user_units; ///< held + sold units, by user id

  std::int64_t available() const { return stock - reserved - sold; }
};

/// Create or replace the definition (PUT /products/{id}).
struct define_product : product_definition {};

/// Hold `quantity` units for an order; idempotent by order id.
struct reserve_stock {
  std::string product_id;
  std::string order_id;
  std::string user_id;
  std::int64_t quantity = 0;
};

/// Give an order's held units back; idempotent.
struct release_stock {
  std::string product_id;
  std::string order_id;
  release_reason reason = release_reason::compensation;
};

/// Turn an order's held units into sold ones; idempotent.
struct sell_stock {
  std::string product_id;
  std::string order_id;
};

/// The rejections a reserve gets for a product that does not exist, and for one whose
/// available stock is short; the inventory's decide and the HTTP worker's early sold-out
/// check (from the published availability) say the same thing.
decision unknown_product(const std::string& product_id);
decision sold_out(const std::string& product_id, std::int64_t available);

/// Rejects: invalid_request (empty id, or a field outside its rule in events/product_fields.hpp:
/// the same rule and message as the HTTP edge), stock_below_committed
/// (stock < reserved + sold), invalid_state (per_user_limit below what a user already holds).
/// An identical redefinition emits nothing and sets `duplicate`.
decision decide(const product_state& s, const define_product& c);

/// Checks, in this order: unknown_product; invalid_request (qty < 1, empty ids); an existing
/// hold for the order (held/sold → duplicate, released → invalid_state); sale_not_started;
/// limit_exceeded; sold_out. Idempotency comes before the time and stock checks so a retried
/// reserve always sees its first outcome.
decision decide(const product_state& s, const reserve_stock& c, timestamp_ms now);

/// held → StockReleased; released or no hold → nothing (idempotent, duplicate only when a
/// released hold exists); sold → invalid_state.
decision decide(const product_state& s, const release_stock& c);

/// held → StockSold; sold → nothing (duplicate); released or no hold → invalid_state;
/// product never defined → unknown_product.
decision decide(const product_state& s, const sell_stock& c);

/// Folds a product event in and bumps `version`; order events are ignored. The caller routes
/// by stream. Counts move by the event's quantity as written, so a corrupt log shows up in
/// check_invariants (events/world.hpp) instead of being silently repaired.
void apply(product_state& s, const event& e);

// `event` is a std::variant, so an unqualified apply(state, ev) also finds std::apply by
// ADL, and that template beats the const& overload for non-const and rvalue events (then
// fails to compile). These exact-match overloads keep plain `apply(state, ev)` working.
inline void apply(product_state& s, event& e) {
  apply(s, static_cast<const event&>(e));
}
inline void apply(product_state& s, event&& e) {
  apply(s, static_cast<const event&>(e));
}

} // namespace flashsale
