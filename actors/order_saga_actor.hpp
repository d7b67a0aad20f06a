// One order saga actor per live order: walks it pending → reserved → paid | expired |
// cancelled (or → rejected), asking each product's inventory actor (directly during the
// placement, with the handles the directory handed over at spawn; else through the directory) to reserve, sell or
// release, and compensating a partial reservation before it answers.
// Every step is an event committed before anyone is told. A saga whose order is terminal and
// whose inventory effects are done stops (passivation): its state lives on in the log.
// Runs inside CAF; never blocks.
#pragma once

#include <map>
#include <string>

#include <caf/actor.hpp>

#include "events/order.hpp"

namespace flashsale {

struct node_services;

/// Inventory actors by product id, as the directory knew them when it spawned the saga.
using inventory_handles = std::map<std::string, caf::actor>;

/// Spawns a saga for `initial` (an empty state with just the order id for a new order; the
/// recovered state otherwise). `directory` routes to inventory actors not in `inventories`
/// (one hop less per request for those that are); `scheduler` fires expiries.
caf::actor spawn_order_saga(caf::local_actor& parent, order_state initial, caf::actor directory,
                            caf::actor scheduler, const node_services& services,
                            inventory_handles inventories = {});

} // namespace flashsale
