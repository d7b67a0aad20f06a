// The directory: the one place that knows which actor owns a product or a live order. It
// spawns inventory actors on first definition (or from recovered state) and sagas when an
// order has something to do, routes every command to its owner, monitors them, and forgets an
// actor when it stops. Nothing else holds a map of actors, so partitioning products across
// nodes later changes only this actor. It owns the expiry scheduler.
//
// Placement: a single-item order without an Idempotency-Key goes straight to its product's
// inventory actor, which places it whole (no saga); any other order goes to the saga of its
// order id, spawned fresh if none is live, so racing retries of one keyed request meet there.
// Passivation is the directory's to grant: it counts the messages it sent each saga, and a
// saga that asks to stop (passivate, order_id, messages received) is let go only when the
// two counts agree; the entry is erased in the same step, so the next message for that order
// spawns a new saga, which reads the order from the log first. No message is ever sent to a
// saga that is stopping. Runs inside CAF; never blocks.
#pragma once

#include <caf/fwd.hpp>

#include "actors/protocol.hpp"

namespace flashsale {

struct node_services;

directory_actor spawn_directory(caf::actor_system& system, const node_services& services);

} // namespace flashsale
