// A node in cluster mode (cluster.enabled; docs/SCALING.md): the same node_api, served by a
// cluster of nodes on a NATS JetStream cluster, partition by partition.
//
// Each partition this node is assigned (cluster/placement) runs alone: its own store on the
// partition's stream (cluster/partition_store: claim, snapshot + tail, fenced group commits),
// its own inner node (actors, timers, snapshotter) and its own lifecycle queue, so taking,
// giving back or reopening one partition costs the others nothing. A partition answers only
// while its store says it may (its fenced appends acknowledged within lease/2); otherwise
// 503 + Retry-After. A request for a partition served elsewhere goes to its owner over
// `flashsale.cmd.<p>` with a deadline past which the owner refuses to place it, unless it
// cannot reserve: every node knows every product's availability (cluster/availability_board,
// published by the owners), so a keyless order for a sold-out product is answered 409 here.
//
// A cart's items may live in several partitions: the order's saga, in its first item's
// partition, reserves each other item at its owner (actors/remote_stock.hpp, over
// `flashsale.stock.<q>`), and every owner settles the holds it keeps for orders elsewhere with
// those orders' sagas (docs/SCALING.md, "Carts across partitions").
// Limits: the payment simulator runs as `flashsale pay-sim`, not in the node.
#pragma once

#include <memory>
#include <string>
#include <variant>

#include "actors/node_api.hpp"
#include "config/config.hpp"

namespace flashsale {

class cluster_node final : public node_api {
public:
  /// Connects to the NATS cluster (nats.url), joins it and starts serving what it is given.
  /// `address` is where buyers reach this node (shown by `flashsale cluster status`). Fails
  /// with a message naming the config key when the cluster disagrees with it.
  static std::variant<std::unique_ptr<cluster_node>, std::string>
  start(const node_config& config, const std::string& address = {});
  ~cluster_node() override; ///< leaves: hands every partition over, so others take them at once

  /// Where buyers reach this node, once HTTP is bound (shown by `flashsale cluster status`).
  void announce(const std::string& address);

  health_report health() override;
  node_stats stats() override;
  void on_commit(commit_listener listener) override;
  define_result define(const define_product& command) override;
  read_outcome<std::optional<product_view>> product(const std::string& product_id) override;
  read_outcome<std::vector<product_view>> products() override;
  place_outcome place(const order_request& request) override;
  order_lookup order(const std::string& order_id) override;
  command_outcome command(const std::string& order_id, const order_command& command) override;
  read_outcome<std::optional<cluster_overview>> cluster() override;

  struct impl;

private:
  explicit cluster_node(std::unique_ptr<impl> self);
  std::unique_ptr<impl> self_;
};

} // namespace flashsale
