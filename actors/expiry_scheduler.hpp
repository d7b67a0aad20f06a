// Durable timers, made live: every reserved order's `expires_at` (a fact in its
// OrderReserved event) is written into the node's expiry book (actors/expiry_book.hpp) by
// whoever made the hold, and when it falls due the scheduler tells the directory to expire
// that order. At most `expiry_batch` orders fire per turn and the actor
// yields between turns, so a restart after a long outage (thousands of overdue holds) cannot
// stall the node. Time comes from the node's clock; a `tick` message re-evaluates (tests
// advance a manual clock and send one). Runs inside CAF; never blocks.
#pragma once

#include <caf/fwd.hpp>

#include "actors/protocol.hpp"

namespace flashsale {

struct node_services;

/// Spawned by the directory, which owns it (and stops it on shutdown).
scheduler_actor spawn_expiry_scheduler(caf::local_actor& parent, directory_actor directory,
                                       const node_services& services);

} // namespace flashsale
