// The composition root of a running node: owns, in start-up order, the data dir lock, the
// event store, the embedded nats-server and the outbox relay (per nats.url), the read models,
// the actor system with its directory, and recovers every product and unfinished order from
// the log before the node is handed out; the payment simulator joins once HTTP is bound. Tears
// them down in reverse. The HTTP adapter sees it only as a node_api.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "actors/node_api.hpp"
#include "actors/protocol.hpp"
#include "config/config.hpp"
#include "persistence/event_store.hpp"

namespace flashsale {

class clock;
class remote_stock;

struct node_options {
  /// The node's time source; nullptr = the system clock. Tests pass a manual clock.
  const clock* time = nullptr;
  /// A store to use instead of the SQLite one in the data dir; tests pass the in-memory store
  /// (persistence/memory_event_store.hpp) to make commits fail on purpose, cluster mode a
  /// partition's store (it outlives the node: it is handed over after the node stopped).
  std::shared_ptr<event_store> store;
  /// Cluster mode: an order id must fall in the partition of the order's first item (its
  /// events are committed to that partition's log). Ids are drawn (random) or derived (keyed,
  /// with a counter) until this accepts one; empty = any id.
  std::function<bool(const std::string& order_id, const order_request& request)> order_id_accepted;
  /// A snapshot every store.snapshot_every events whatever the world's size (node/snapshotter.hpp):
  /// cluster mode, where a take-over reads the log after the latest snapshot.
  bool bounded_snapshot_tail = false;
  /// Cluster mode: the stock of products other partitions serve, for carts across partitions
  /// (it must outlive the node). nullptr = every product is here.
  remote_stock* remote = nullptr;
  /// Cluster mode: an order whose stream is in this node's log. Recovery gives back a hold
  /// whose order never committed only for these; a hold for an order elsewhere is reported
  /// to `holds_elsewhere` (product id, order id) instead: that order's saga decides it.
  std::function<bool(const std::string& order_id)> order_here;
  std::function<void(std::vector<std::pair<std::string, std::string>>)> holds_elsewhere;
};

class node final : public node_api {
public:
  /// Opens and locks the data dir, opens the store, recovers state and resumes every saga a
  /// crash cut off; a message naming the problem otherwise.
  static std::variant<std::unique_ptr<node>, std::string> start(const node_config& config,
                                                                node_options options = {});
  ~node() override;

  health_report health() override;
  node_stats stats() override;
  void on_commit(commit_listener listener) override;
  define_result define(const define_product& command) override;
  read_outcome<std::optional<product_view>> product(const std::string& product_id) override;
  read_outcome<std::vector<product_view>> products() override;
  place_outcome place(const order_request& request) override;
  order_lookup order(const std::string& order_id) override;
  command_outcome command(const std::string& order_id, const order_command& command) override;

  const node_config& config() const { return config_; }

  /// What product() and products() answer; a single node's reads cannot fail.
  std::optional<product_view> view(const std::string& product_id) const;
  std::vector<product_view> views() const;

  /// The committed events of an order's stream (cluster mode ships them to the node that was
  /// asked, which folds them with lookup_of).
  stream_read order_events(const std::string& order_id);
  /// An order's state from its events (fold_order_stream: the same apply as everywhere); no
  /// events: not found; an undecodable one: unavailable, as an unreadable store is.
  static order_lookup lookup_of(const std::vector<envelope>& events);

  /// Cluster mode, for a saga in another partition: reserves, releases or sells stock of a
  /// product served here (its inventory decides and commits, as for a local saga).
  stock_outcome stock(const stock_command& command);
  /// Cluster mode, for the owner of a product elsewhere that still holds units for one of
  /// this node's orders: the order's saga settles that hold (actors/protocol.hpp).
  settle_outcome settle(const std::string& order_id, const std::string& product_id);

  /// Makes the expiry scheduler look at the clock now (tests, after advancing a manual clock).
  void check_expiries();
  /// Blocks until everything appended so far is committed.
  void flush();

  /// Starts the in-node payment simulator (payments.simulator.*), calling the webhook at
  /// `node_url` (http://host:port, known once HTTP is bound). The webhook secret is
  /// payments.webhook_secret, else <data_dir>/webhook_secret. A message when it cannot start.
  std::optional<std::string> start_payment_simulator(const std::string& node_url);
  /// Stops it (call before stopping HTTP: its keep-alive connections would hold the listener).
  void stop_payment_simulator();
  /// Where the outbox publishes (the embedded server's URL in embedded mode); empty when off.
  std::string nats_url() const;
  /// The embedded nats-server's PID; -1 when none runs.
  int embedded_nats_pid() const;

private:
  struct runtime;
  explicit node(node_config config);
  /// The order id for a request: random, or the key's first accepted id after `skip` spent
  /// ones.
  std::string order_id_for(const order_request& request, int skip) const;
  /// How many spent ids a keyed request walks past before its refusal stands.
  static constexpr int max_spent_order_ids = 8;
  static std::optional<std::string> start_nats(runtime& rt, const node_config& config);

  node_config config_;
  std::unique_ptr<runtime> rt_;
};

} // namespace flashsale
