// One inventory actor per product: the single place where that product's reservations are
// decided, so they are serialized by its mailbox and can never oversell. It runs the pure
// decide/apply of events/product.hpp, hands the events to the group-commit writer, and
// answers only after they are durable (actors/commit_queue.hpp). Runs inside CAF; never blocks.
#pragma once

#include <caf/fwd.hpp>

#include "events/product.hpp"

namespace flashsale {

struct node_services;

/// Spawns the actor for `initial.product_id` with its recovered (or empty) state, linked to
/// nothing; the directory monitors it.
caf::actor spawn_inventory(caf::local_actor& parent, product_state initial,
                           const node_services& services);

} // namespace flashsale
