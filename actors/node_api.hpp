// The narrow interface the HTTP adapter (and tests) use to talk to a running node. No CAF
// types cross it: the adapter stays ignorant of actors, and a test can drive the node without
// HTTP. Every method is thread-safe and may block its caller (an HTTP worker thread), never an
// actor.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "actors/read_models.hpp"
#include "events/errors.hpp"
#include "events/order.hpp"
#include "events/product.hpp"

namespace flashsale {

struct health_report {
  bool event_store_ok = true;
  std::string event_store_error;   ///< why the store refuses writes, when it does
  std::string nats = "off";        ///< "connected", "disconnected" or "off"
  std::int64_t outbox_lag = 0;     ///< committed events not yet acknowledged by JetStream
};

/// What the client is told about an order command: the HTTP status and JSON body, exactly as
/// sent, and as the idempotency index replays it.
struct answer {
  int status = 0;
  std::string body;
  bool replayed = false; ///< an idempotent replay of an earlier answer
};

/// GET /orders/{id}: the order, no such order (both empty), or the store failed to read.
struct order_lookup {
  std::optional<order_state> state;
  std::optional<rejection> error;
};

/// Commands for an existing order, routed to its saga.
using order_command = std::variant<payment_succeeded, payment_failed, cancel_order>;

struct define_result {
  std::optional<product_view> view; ///< the committed view, when accepted
  bool created = false;
  std::optional<rejection> error;
};

/// A new order as the client asked for it. The node assigns the order id (derived from the
/// user and the idempotency key when there is one, so racing retries meet in one saga).
struct order_request {
  std::string user_id;
  std::vector<order_line> items;
  std::string idempotency_key; ///< empty = none
};

/// Gauges for /metrics.
struct node_stats {
  std::int64_t inventory_actors = 0;
  std::int64_t saga_actors = 0;
  std::int64_t last_seq = 0;   ///< events committed so far
  std::int64_t outbox_lag = 0;
};

/// Reported after each group commit of the event store (on the writer thread: keep it short).
using commit_listener = std::function<void(std::size_t events, std::size_t batches,
                                           std::chrono::microseconds duration)>;

class node_api {
public:
  virtual ~node_api() = default;
  virtual health_report health() = 0;
  virtual node_stats stats() = 0;
  /// Replaces the listener (one at a time; the HTTP adapter's metrics use it).
  virtual void on_commit(commit_listener listener) = 0;

  virtual define_result define(const define_product& command) = 0;
  virtual std::optional<product_view> product(const std::string& product_id) = 0;
  virtual std::vector<product_view> products() = 0;

  /// 201 with the order view, an error answer, or an idempotent replay.
  virtual answer place(const order_request& request) = 0;
  /// The order folded from its committed events: `state` is nullopt when it does not exist;
  /// `error` (503 unavailable) when the store could not be read, which is not "not found".
  virtual order_lookup order(const std::string& order_id) = 0;
  /// Payment results and cancellations; 404 when the order does not exist.
  virtual answer command(const std::string& order_id, const order_command& command) = 0;
};

} // namespace flashsale
