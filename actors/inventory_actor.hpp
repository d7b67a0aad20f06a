// One inventory actor per product: the single place where that product's reservations are
// decided, so they are serialized by its mailbox and can never oversell. It runs the pure
// decide/apply of events/product.hpp, applies the events to its state at once (so the next
// reservation sees them) and hands them to the group-commit writer (actors/durable.hpp).
//
// - A single-item order without an Idempotency-Key is placed here whole: the reservation and
//   the order's opening events (OrderPlaced, OrderReserved) commit in one transaction, and the
//   client is answered after it; a rejection writes nothing. No saga takes part.
// - A reserve (from a saga placing a multi-item or keyed order) is answered at once: the saga
//   acknowledges nothing before its own later append commits, and the store commits in append
//   order and latches after a failure, so that commit implies the reservation's.
// - Define, sell and release are answered after their events are durable.
// Runs inside CAF; never blocks.
#pragma once

#include <caf/fwd.hpp>

#include "actors/protocol.hpp"

namespace flashsale {

struct node_services;

/// Spawns the actor for `initial.product_id` with its recovered (or empty) state, linked to
/// nothing; the directory monitors it. `scheduler` learns the expiry of each order it places.
inventory_actor spawn_inventory(caf::local_actor& parent, product_state initial,
                                scheduler_actor scheduler, const node_services& services);

} // namespace flashsale
