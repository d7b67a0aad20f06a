// One order saga actor per order that has something to do: it places a multi-item or keyed
// order (reserving every item, then committing OrderPlaced + OrderReserved, with the key's
// first answer, in one transaction; or giving back what it got and answering the rejection,
// which writes nothing to the order), and it pays, cancels, expires and finishes orders. A saga
// lives only while it works: once idle it asks the directory to stop (passivation), and the
// order lives on in the log; the next command for it spawns a saga that first reads the
// order's stream (on a store reader thread: an actor never blocks).
// Every step is an event committed before anyone is told. Runs inside CAF; never blocks.
#pragma once

#include <map>
#include <string>

#include "actors/protocol.hpp"
#include "events/order.hpp"

namespace flashsale {

struct node_services;

/// Inventory actors by product id, as the directory knew them when it spawned the saga.
using inventory_handles = std::map<std::string, stock_actor>;

/// How a saga starts.
enum class saga_start {
  fresh,  ///< a new order: `initial` holds just its id
  load,   ///< an order that may exist: read its stream before the first command
  resume, ///< recovery: `initial` is the order's folded state, with work left to do
};

/// Spawns a saga for `initial.order_id`. `directory` routes inventory requests for products
/// not in `inventories` and decides passivation; `scheduler` learns reserved orders' expiry.
saga_actor spawn_order_saga(caf::local_actor& parent, order_state initial, saga_start start,
                            directory_actor directory, scheduler_actor scheduler,
                            const node_services& services, inventory_handles inventories = {});

/// The answer to a keyed placement whose key already has a stored first answer (read on
/// the calling thread): its replay, or idempotency_key_reused for a different request.
place_outcome replay_stored(const idempotency_record& first, const place_order& c);

} // namespace flashsale
