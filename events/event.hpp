// Every domain event as one closed sum type, its stream, its envelope, and the result of a
// decision. invariant: type_name(e) is the envelope `type` that decode maps back to the same
// alternative, and stream_of(e) is the stream the event is appended to
// ("product-<product_id>" or "order-<order_id>"). Wire form: see events/envelope.hpp, with
// `data` as written by the to_json of product_events.hpp / order_events.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "events/envelope.hpp"
#include "events/errors.hpp"
#include "events/order_events.hpp"
#include "events/product_events.hpp"

namespace flashsale {

using event = std::variant<ProductDefined, StockReserved, StockReleased, StockSold, OrderPlaced,
                           OrderReserved, OrderRejected, OrderPaid, OrderCancelled, OrderExpired,
                           PaymentRejected>;

/// The struct name, e.g. "StockReserved"; also the envelope `type` and the NATS subject suffix.
const char* type_name(const event& e);

/// True for the four product events, false for the order events.
bool is_product_event(const event& e);

/// The id the event belongs to: its product_id for product events, else its order_id.
const std::string& entity_id(const event& e);

/// Stream ids are "product-<product_id>" or "order-<order_id>": built by the two functions
/// below and read back by parse_stream alone, so no caller knows the prefixes.
std::string product_stream(std::string_view product_id);
std::string order_stream(std::string_view order_id);

/// What a stream id names. `id` views into the string parsed.
struct stream_ref {
  enum class kind { product, order };
  kind what;
  std::string_view id;
};

/// nullopt for a string that is neither a product's nor an order's stream id.
std::optional<stream_ref> parse_stream(std::string_view stream);

/// product_stream or order_stream of the entity the event belongs to.
std::string stream_of(const event& e);

/// The envelope to append: seq 0 (the store assigns it), data = the event's JSON text.
envelope to_envelope(const event& e, std::int64_t version, timestamp_ms recorded_at);

/// Either a value or a human-readable error; decode never throws.
struct decode_result {
  std::optional<event> value;
  std::string error;
};

/// The event inside an envelope. Unknown `type` or malformed `data` → error text.
/// Tries events/fast_decode first (no DOM), and the full JSON parser when it is unsure.
decode_result decode(const envelope& env);

/// The same through the full JSON parser only (the reference the fast path is tested against).
decode_result decode_full(const envelope& env);

/// The outcome of a `decide`: the events to append (in order), and/or a rejection.
/// Both may be set (a late payment yields PaymentRejected *and* invalid_state): append the
/// events, then report the rejection. `duplicate` is set when the command was already
/// applied earlier (a replayed webhook event id, a repeated reserve for the same order, the
/// same order placed again with the same request): nothing to append, nothing to report
/// but "already done" (the webhook answers {"result": "duplicate"}).
struct decision {
  std::vector<event> events;
  std::optional<rejection> rejected;
  bool duplicate = false;

  /// Accepted: no rejection (there may still be no events).
  bool ok() const { return !rejected; }

  static decision reject(errc code, std::string message) {
    decision d;
    d.rejected = rejection{code, std::move(message)};
    return d;
  }

  static decision emit(event e) {
    decision d;
    d.events.push_back(std::move(e));
    return d;
  }

  static decision already_done() {
    decision d;
    d.duplicate = true;
    return d;
  }
};

} // namespace flashsale
