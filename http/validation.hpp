// Request parsing and validation: untrusted body text (and headers) → a typed command, or a
// rejection whose message names the offending field ("items[1].quantity must be an integer
// 1..1000"). invariant: pure and total — no exception escapes, any bytes give a value or an
// invalid_request; nothing here reads a clock or touches the node (so it is fuzzed directly).
// Client-facing bodies are strict (unknown fields are rejected, like Stripe's API); webhook
// bodies ignore unknown fields (the provider may add some).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "actors/node_api.hpp"
#include "events/errors.hpp"
#include "events/order.hpp"
#include "events/product.hpp"

namespace flashsale {

template <class T>
using parsed = std::variant<T, rejection>;

/// Ids (product, user, order, idempotency key, webhook event and payment ids): 1..128
/// characters of [A-Za-z0-9._:-].
inline constexpr std::size_t max_id_length = 128;
bool is_valid_id(std::string_view id);

// The bounds of a product's fields (max_stock, max_price_cents, max_hold_seconds,
// max_name_chars) are in its field list, events/product_fields.hpp.

/// nullopt when `id` is valid, else invalid_request naming `field`.
std::optional<rejection> check_id(std::string_view field, std::string_view id);

/// PUT /products/{product_id}. `default_hold_seconds` comes from orders.hold_seconds.
parsed<define_product> parse_define_product(std::string_view product_id, std::string_view body,
                                            std::int64_t default_hold_seconds);

/// POST /orders: {user_id, items: [{product_id, quantity}], request_id?} or the shorthand
/// {user_id, product_id, quantity, request_id?}. `idempotency_key` is the Idempotency-Key
/// header when present; it and request_id must agree when both are given.
parsed<order_request> parse_order_request(std::string_view body,
                                          const std::optional<std::string>& idempotency_key);

/// POST /orders/{id}/cancel: {user_id}.
parsed<cancel_order> parse_cancel_order(std::string_view body);

/// POST /payments/webhook (after the signature was verified):
/// {event_id, order_id, payment_id, status: "succeeded"|"failed", amount_cents?}.
struct webhook_call {
  std::string order_id;
  order_command command;
};
parsed<webhook_call> parse_webhook(std::string_view body);

} // namespace flashsale
