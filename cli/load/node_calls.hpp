// The few calls `flashsale load` makes besides placing orders: create/reset the product
// (PUT, admin token), read its stock view (GET), and pay an order through the signed webhook.
// Every call returns a value or an error string; nothing throws (JSON errors are caught here).
// Runs on the calling thread with the caller's keep-alive client.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace httplib {
class Client;
}

namespace flashsale::load {

/// The node's product view (API.md): invariant available + reserved + sold == stock.
struct product_view {
  std::int64_t stock = 0;
  std::int64_t available = 0;
  std::int64_t reserved = 0;
  std::int64_t sold = 0;
};

/// A failed call: what happened, and whether the node answered at all (an HTTP error status)
/// or could not be reached (connection refused, timeout).
struct call_error {
  std::string message;
  bool answered = false;
};

/// A client for `url` with the tuning every load connection uses: keep-alive, TCP_NODELAY
/// (without it each keep-alive request stalls ~40 ms), bounded connect/read timeouts; for an
/// https:// node, its certificate checked against `ca_cert` (a PEM file; empty = the system's
/// trusted CAs).
void tune_client(httplib::Client& client, const std::string& ca_cert = "");

/// PUT /products/{id} {"name": id, "stock": stock} with the bearer token.
std::variant<product_view, call_error> put_product(httplib::Client& client,
                                                   const std::string& product, std::int64_t stock,
                                                   const std::string& admin_token);

/// GET /products/{id}.
std::variant<product_view, call_error> get_product(httplib::Client& client,
                                                   const std::string& product);

/// Outcome of one webhook payment: paid, or why not ("503 unavailable", "Connection", ...).
struct payment_outcome {
  bool paid = false;
  std::string failure;
};

/// POST /payments/webhook with status "succeeded" for `order_id`, signed with `secret`.
/// The event id is derived from the order id, so retrying after a shed answer (429/503) or a
/// connection error is safe: the node answers "duplicate" for an event it already applied.
payment_outcome pay_order(httplib::Client& client, const std::string& order_id,
                          const std::string& secret);

} // namespace flashsale::load
