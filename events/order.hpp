// One order's saga state: pending → reserved → paid | expired | cancelled, or pending →
// rejected. `decide` turns a saga command into events or a rejection; `apply` folds an event.
// invariant: a terminal status (paid, expired, cancelled, rejected) never changes; every
// payment webhook event id is acted on at most once (payment_events).
// Runs inside the order's saga actor and in replay; pure, no clock (time is passed in).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "events/event.hpp"

namespace flashsale {

enum class order_status { none, pending, reserved, paid, expired, cancelled, rejected };

/// "none", "pending", "reserved", "paid", "expired", "cancelled", "rejected".
const char* to_string(order_status s);
std::optional<order_status> parse_order_status(std::string_view s);
bool is_terminal(order_status s);

struct history_entry {
  std::string type; ///< event type name, e.g. "OrderReserved"
  timestamp_ms at = 0;
};

struct order_rejection {
  std::string code; ///< code_string(errc)
  std::string message;
};

struct order_state {
  std::string order_id;
  std::string user_id;
  order_status status = order_status::none;
  std::vector<order_line> items;
  std::vector<priced_line> lines; ///< set by OrderReserved
  std::int64_t total_cents = 0;
  std::string idempotency_key;
  std::string request_hash;
  timestamp_ms created_at = 0;
  timestamp_ms updated_at = 0;
  std::optional<timestamp_ms> expires_at;
  std::optional<std::string> payment_id;
  std::set<std::string> payment_events; ///< webhook event ids already acted on
  std::vector<history_entry> history;
  std::optional<order_rejection> rejection;
  std::int64_t version = 0; ///< number of order events applied = stream version
};

/// Limits of API.md: 1..50 items, quantity 1..1000, each product at most once.
inline constexpr std::size_t max_order_items = 50;
inline constexpr std::int64_t max_line_quantity = 1000;

struct place_order {
  std::string order_id;
  std::string user_id;
  std::vector<order_line> items;
  std::string idempotency_key;
  std::string request_hash;
  /// Nobody waits for the answer after this (the client's or its forwarder's timeout): a
  /// request still unplaced then is refused `unavailable` rather than reserve for no one.
  /// 0 = none.
  timestamp_ms deadline = 0;
};

/// The refusal of a placement whose deadline has passed; nullopt while it may go on.
std::optional<rejection> past_deadline(const place_order& c, timestamp_ms now);

/// Every item is held; `lines` carry the unit prices the products recorded.
struct confirm_reservation {
  timestamp_ms expires_at = 0;
  std::vector<priced_line> lines;
};

/// Some item could not be reserved (the saga compensates the others).
struct reject_order {
  errc code = errc::internal;
  std::string message;
};

struct payment_succeeded {
  std::string event_id;
  std::string payment_id;
  std::optional<std::int64_t> amount_cents;
};

struct payment_failed {
  std::string event_id;
  std::string payment_id;
};

struct cancel_order {
  std::string user_id;
};

struct expire_order {};

/// True when the webhook event id was already acted on; the same test decide uses.
bool is_duplicate_payment(const order_state& s, const std::string& event_id);

// Every command but place_order on an order that does not exist → not_found.

/// New order → OrderPlaced (invalid_request for bad items or empty ids). An existing order
/// with the same request_hash → nothing, `duplicate`; a different hash → idempotency_key_reused.
decision decide(const order_state& s, const place_order& c, timestamp_ms now);
/// pending → OrderReserved with total = Σ quantity × unit price; lines must match the items
/// (else invalid_request); any other status → invalid_state.
decision decide(const order_state& s, const confirm_reservation& c, timestamp_ms now);
/// The events that open an order whose every line is already held: OrderPlaced, then
/// OrderReserved with `expires_at`, as decide would emit them one after the other; for an
/// order already placed (pending, written by an older node before its outcome), only
/// OrderReserved. Rejected like those two decides (bad items, wrong lines, not pending).
/// Used where the reservation and the order commit in one transaction (a single-item order,
/// by its product's inventory) and by a saga once it holds every item.
decision open_order(const order_state& s, const place_order& c, const confirm_reservation& confirm,
                    timestamp_ms now);

/// The first answer to an Idempotency-Key was stored for the request hashed `first_hash`:
/// the same request again is a replay (already_done), another is idempotency_key_reused.
/// The one rule of idempotent placement; decide(place_order) applies it to a live order.
decision judge_retry(const std::string& first_hash, const place_order& c);

/// pending → OrderRejected; else invalid_state.
decision decide(const order_state& s, const reject_order& c, timestamp_ms now);
/// Seen event id → nothing, `duplicate`. reserved: amount present and != total →
/// amount_mismatch (no events), else OrderPaid. paid/expired/cancelled/rejected →
/// PaymentRejected (to refund) + invalid_state. pending → invalid_state, no events.
decision decide(const order_state& s, const payment_succeeded& c, timestamp_ms now);
/// Seen event id → nothing, `duplicate`. reserved → OrderCancelled{"payment_failed"};
/// else invalid_state.
decision decide(const order_state& s, const payment_failed& c, timestamp_ms now);
/// Another user → forbidden (checked first: no state leaks to strangers); reserved →
/// OrderCancelled{"user"}; else invalid_state.
decision decide(const order_state& s, const cancel_order& c, timestamp_ms now);
/// reserved and now >= expires_at → OrderExpired; else invalid_state.
decision decide(const order_state& s, const expire_order& c, timestamp_ms now);

/// Folds an order event in, bumps `version`, appends {type, at} to history. `at` is the
/// envelope's recorded_at; OrderPlaced uses its own placed_at. Product events are ignored.
/// A terminal status is never left, even by a corrupt log. PaymentRejected records its
/// event id and history entry but changes neither status nor updated_at.
void apply(order_state& s, const event& e, timestamp_ms at);

/// An order's stream folded, or why it could not be. The one rule for a stored event this
/// build cannot decode, everywhere (start-up, GET /orders, the saga, a forwarded read): the
/// fold stops and names it, and the caller refuses to act on a partial order.
struct order_fold {
  order_state order;
  std::optional<std::string> undecodable; ///< "seq N: <decode error>"
};

order_fold fold_order_stream(const std::vector<envelope>& events);

} // namespace flashsale
