// The order as clients see it (GET /orders/{id}, the body of 201 and of a cancel), rendered
// from order_state. Pure. Wire form (shared/API.md):
//   {"order_id", "user_id", "status", "items": [{"product_id", "quantity"}], "total_cents",
//    "created_at", "updated_at", "expires_at" (RFC 3339 | null), "payment_id" (string | null),
//    "history": [{"type", "at"}]}
// invariant: the same state always renders the same bytes (idempotent replays compare them).
#pragma once

#include <string>

#include "events/order.hpp"

namespace flashsale {

std::string order_view_json(const order_state& order);

/// The same bytes through an nlohmann DOM: the path for strings with bytes >= 0x80 (it checks
/// their UTF-8), and the reference the tests hold the direct writer to.
std::string order_view_json_dom(const order_state& order);

} // namespace flashsale
