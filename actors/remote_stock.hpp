// Cluster mode: the stock of products that another partition serves, for a cart whose items
// live on different owners (issue 23). A saga asks its directory for every item it does not
// hold a handle to; the directory hands the command for a product served elsewhere to this
// interface and answers the saga when `done` runs. node/cluster_node implements it over NATS
// (the owner's inventory actor decides, in the owner's log). A single node has none.
#pragma once

#include <functional>
#include <string>
#include <variant>

#include "actors/protocol.hpp"

namespace flashsale {

class remote_stock {
public:
  virtual ~remote_stock() = default;
  /// True when `product_id` belongs to another partition than the node's own.
  virtual bool serves_elsewhere(const std::string& product_id) const = 0;
  /// Runs `command` at the product's owner; `done` runs once, on any thread, with its outcome
  /// (`unavailable` when the owner did not answer in time: the hold's fate is then unknown).
  virtual void send(stock_command command, std::function<void(stock_outcome)> done) = 0;
};

} // namespace flashsale
