// A node in cluster mode (cluster.enabled; docs/SCALING.md): the same node_api, served by a
// cluster of nodes on a NATS JetStream cluster. It joins the lease bucket through
// cluster::partition_owner and serves the partitions it holds with an inner single node
// whose store is the replicated one (a commit is acknowledged only once the partitions' R3
// logs hold it). Any request for a partition served elsewhere goes to its owner over
// `flashsale.cmd.<p>`; one for a partition with no owner right now is answered 503
// `unavailable` (the client retries after Retry-After).
//
// Take-over: whenever the set of partitions it serves changes, the node
// rebuilds its inner node from the logs of every partition it serves (a fresh store in
// <data_dir>/generation-<n>, each log imported, then the ordinary recovery: holds are armed,
// so a dead node's holds expire here). Requests for its partitions get 503 meanwhile (at
// once: the node lock is held only to swap inner nodes), and nothing acknowledged can be
// missed: it is in the logs.
//
// Limits: an order's items must all be in one partition (others: 400 invalid_request); the payment simulator runs as `flashsale pay-sim`, not in the node.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <variant>

#include "actors/node_api.hpp"
#include "config/config.hpp"

namespace flashsale {

class cluster_node final : public node_api {
public:
  /// Connects to the NATS cluster (nats.url), joins it and starts serving what it is given.
  /// Fails with a message naming the config key when the cluster disagrees with it.
  static std::variant<std::unique_ptr<cluster_node>, std::string> start(const node_config& config);
  ~cluster_node() override; ///< leaves: releases its leases, so others take over at once

  health_report health() override;
  node_stats stats() override;
  void on_commit(commit_listener listener) override;
  define_result define(const define_product& command) override;
  std::optional<product_view> product(const std::string& product_id) override;
  std::vector<product_view> products() override;
  place_outcome place(const order_request& request) override;
  order_lookup order(const std::string& order_id) override;
  command_outcome command(const std::string& order_id, const order_command& command) override;

  struct impl;

private:
  explicit cluster_node(std::unique_ptr<impl> self);
  std::unique_ptr<impl> self_;
};

} // namespace flashsale
