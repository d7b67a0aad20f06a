// The directory: the one place that knows which actor owns a product or a live order. It
// spawns inventory actors on first definition, saga actors on placement (or to revive a
// passivated order), forwards commands to them (the owner answers the original requester),
// monitors them, and forgets an actor when it stops. Nothing else holds a map of actors, so
// partitioning products across nodes later changes only this actor. It owns the expiry
// scheduler. Runs inside CAF; never blocks.
//
// Messages (requests answer as noted):
//   (define, define_product) → define_reply          (reserve|release|sell, cmd) → inventory's
//   (place, place_order) → answer                     (command, order_id, order_command) → answer
//                                                     or `not_found` when the order is not live
//   (revive, order_state, order_command) → answer     (expire, order_id)   fire-and-forget
//   (restore, product_state)  recovery               (resume, order_state) recovery
//   (count) → (inventories, sagas, scheduled expiries)
#pragma once

#include <caf/fwd.hpp>

namespace flashsale {

struct node_services;

caf::actor spawn_directory(caf::actor_system& system, const node_services& services);

} // namespace flashsale
