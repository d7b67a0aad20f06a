// Order ids and request fingerprints. A keyed order's id is derived from (user, idempotency
// key), so concurrent retries of one request reach the same saga and the same stream (whose
// expected version 0 admits exactly one OrderPlaced). Unkeyed orders get random ids.
#pragma once

#include <string>

#include "actors/node_api.hpp"

namespace flashsale {

/// "o-" + 32 hex chars of SHA-256(user_id, key): stable across restarts and nodes.
std::string derive_order_id(const std::string& user_id, const std::string& key);

/// "o-" + 32 hex chars: 48 bits of wall-clock milliseconds (index locality in the store),
/// then 80 random bits (unguessable: an order id is all GET /orders/{id} asks for).
std::string random_order_id();

/// SHA-256 (hex) of the canonical request (user and items, in order): the same request
/// sent twice hashes the same regardless of JSON spacing or field order.
std::string request_hash(const order_request& request);

} // namespace flashsale
