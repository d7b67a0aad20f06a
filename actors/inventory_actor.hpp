// One inventory actor per product: the single place where that product's reservations are
// decided, so they are serialized by its mailbox and can never oversell. It runs the pure
// decide/apply of events/product.hpp, applies the events to its state at once (so the next
// reservation sees them) and hands them to the group-commit writer. Define, sell and release
// are answered only after their events are durable (actors/commit_queue.hpp). A reserve is
// answered at once: its requester is always a saga, which acknowledges nothing to a client
// before its own later event commits, and the store commits in append order, so that commit
// implies the reservation's (a failed commit latches the store, so none after it succeeds).
// Runs inside CAF; never blocks.
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
