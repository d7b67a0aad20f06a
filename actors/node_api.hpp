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
  std::string event_store_error; ///< why the store refuses writes, when it does
  std::string nats = "off";      ///< "connected", "disconnected" or "off"
  std::int64_t outbox_lag = 0;   ///< committed events not yet acknowledged by JetStream
  /// Cluster mode only: this node's id and the partitions it serves now.
  struct cluster_part {
    std::string node;
    std::vector<int> partitions;
  };
  std::optional<cluster_part> cluster;
};

/// GET /orders/{id}: the order, no such order (both empty), or the store failed to read.
struct order_lookup {
  std::optional<order_state> state;
  std::optional<rejection> error;
};

/// Commands for an existing order, routed to its saga.
using order_command = std::variant<payment_succeeded, payment_failed, cancel_order>;

/// A placed order as its client first saw it: the id, and the order view's JSON
/// (events/order_view.hpp) at the moment it was reserved; a replay answers the same bytes.
struct placed_order {
  std::string order_id;
  std::string view;
};

/// What POST /orders gets: the order, or the domain's "no". `replayed` when it is the stored
/// first answer to an Idempotency-Key seen before (also for a rejection stored by an older
/// version of the node: today's rejections store nothing, and a retry is decided afresh).
struct place_outcome {
  std::variant<placed_order, rejection> result;
  bool replayed = false;
  /// Between the saga and the node only: the keyed request's order id is spent (a hold for
  /// it was given back and no order committed under it), so the node decides the request
  /// afresh under the key's next id (node::place).
  bool id_spent = false;
};

/// What a payment webhook gets: applied now, or already applied earlier (the same event id).
enum class payment_result { applied, duplicate };

/// What an order command gets: a payment's result, a cancelled order's new state, or "no".
using command_outcome = std::variant<payment_result, order_state, rejection>;

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
  /// Unix ms after which nobody waits for the answer (a forwarding node's timeout); 0 = the
  /// node's own request timeout from now. Past it the order is refused, never reserved.
  timestamp_ms deadline = 0;
};

/// A read of the node's state: the value, or why it cannot be had now (cluster mode: the
/// partition has no owner at the moment, `unavailable`, which HTTP answers 503 with
/// Retry-After). Like every node_api outcome, a failure is a typed rejection (errc and a
/// message), never an exception.
template <class T>
using read_outcome = std::variant<T, rejection>;

/// Gauges for /metrics.
struct node_stats {
  std::int64_t inventory_actors = 0;
  std::int64_t saga_actors = 0;
  std::int64_t last_seq = 0; ///< events committed so far
  std::int64_t outbox_lag = 0;
  std::int64_t snapshots_written = 0; ///< by this node since it started
  /// Cluster mode only: counts since the node started.
  struct cluster_part {
    int partitions = 0;                   ///< P, the cluster's
    std::vector<int> served;              ///< the partitions served here now
    std::int64_t partitions_started = 0;  ///< partitions this node began serving (take-overs)
    std::int64_t partitions_stopped = 0;  ///< ...and stopped serving (lost, given back, fenced)
    std::int64_t opens = 0;               ///< partition stores opened (claim, snapshot, tail)
    double last_open_seconds = 0;         ///< how long the last one took to serve
    std::int64_t forwarded = 0;           ///< requests sent to another partition's owner
    std::int64_t forwards_unanswered = 0; ///< ...that got no answer in time (503 to the client)
  };
  std::optional<cluster_part> cluster;
};

/// Cluster mode: who owns which partition and where each partition's log is led, as the
/// placement bucket and the streams say now (GET /cluster, the dashboard).
struct cluster_overview {
  std::string node; ///< the node asked
  std::int64_t lease_ms = 0;
  struct partition {
    int id = 0;
    std::string owner; ///< empty: free
    std::uint64_t epoch = 0;
    std::string log_leader; ///< the server leading its stream; empty during an election
    std::uint64_t log_last_seq = 0;
    bool served_here = false;
  };
  std::vector<partition> partitions;
  struct member {
    std::string id;
    std::string address;
    std::int64_t heartbeat_ms = 0; ///< unix ms of its latest heartbeat (the bucket's clock)
  };
  std::vector<member> nodes;
};

/// What a node reports as its store commits (on the writer thread: keep it short).
struct commit_listener {
  /// After each group commit: its events, append batches and duration (/metrics).
  std::function<void(std::size_t events, std::size_t batches, std::chrono::microseconds duration)>
      committed;
  /// Every product's availability once when the listener is set, then each one a commit
  /// publishes; the HAProxy edge's sold-out map follows it (node/edge_sold_out.hpp).
  /// In cluster mode it hears every product of the cluster, whichever member serves it, as
  /// its owner publishes it (cluster/availability_board): cluster_node hands this callback to
  /// the board, and the inner node of each partition it serves reports to the board instead,
  /// so every member's edge holds every sold-out product.
  availability_listener availability;

  explicit operator bool() const { return committed || availability; }
};

class node_api {
public:
  virtual ~node_api() = default;
  virtual health_report health() = 0;
  virtual node_stats stats() = 0;
  /// Replaces the listener (one at a time; the HTTP adapter sets it, for its metrics and for
  /// the edge); a listener with `availability` hears every product's at once.
  virtual void on_commit(commit_listener listener) = 0;

  virtual define_result define(const define_product& command) = 0;
  /// The product's view; nullopt when there is no such product.
  virtual read_outcome<std::optional<product_view>> product(const std::string& product_id) = 0;
  /// Every product, by id; a rejection rather than a list missing a partition.
  virtual read_outcome<std::vector<product_view>> products() = 0;

  /// The placed order, a rejection, or an idempotent replay of either.
  virtual place_outcome place(const order_request& request) = 0;
  /// The order folded from its committed events: `state` is nullopt when it does not exist;
  /// `error` (503 unavailable) when the store could not be read, which is not "not found".
  virtual order_lookup order(const std::string& order_id) = 0;
  /// Payment results and cancellations; not_found when the order does not exist.
  virtual command_outcome command(const std::string& order_id, const order_command& command) = 0;

  /// Cluster mode only (a single node answers nullopt); `unavailable` when the placement
  /// bucket cannot be read now.
  virtual read_outcome<std::optional<cluster_overview>> cluster() {
    return std::optional<cluster_overview>{};
  }
};

} // namespace flashsale
