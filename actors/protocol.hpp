// The actors' protocol: every message an actor of the node accepts, as typed interfaces
// (caf::typed_actor, so a message nobody handles is a compile error, not a silent drop), the
// values that travel in them, and the conversion between domain rejections and caf::error.
// Local-only types are allowed as unsafe message types: nothing here crosses a process
// boundary (cluster mode speaks JSON over NATS). Only the small CAF headers belong here.
//
//   directory  routes to the owner: one inventory per product, one saga per live order;
//              owns passivation (a saga stops only when the directory agrees, so nothing
//              sent to it is lost) and the expiry scheduler.
//   inventory  decides every reservation of one product; places single-item orders whole.
//   saga       places multi-item and keyed orders; pays, cancels and expires any order.
//   scheduler  fires due expiries at the directory.
#pragma once

#include <cstdint>
#include <string>
#include <variant>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/node_api.hpp"
#include "actors/read_models.hpp"
#include "actors/reply_slot.hpp"
#include "events/errors.hpp"
#include "events/order.hpp"
#include "events/product.hpp"
#include "persistence/event_store.hpp"

namespace flashsale {

using define_atom = caf::atom_constant<caf::atom("define")>;
using reserve_atom = caf::atom_constant<caf::atom("reserve")>;
using release_atom = caf::atom_constant<caf::atom("release")>;
using sell_atom = caf::atom_constant<caf::atom("sell")>;
using committed_atom = caf::atom_constant<caf::atom("committed")>;
using place_atom = caf::atom_constant<caf::atom("place")>;
using command_atom = caf::atom_constant<caf::atom("command")>;
using loaded_atom = caf::atom_constant<caf::atom("loaded")>;
using passivate_atom = caf::atom_constant<caf::atom("passivate")>;
using resume_atom = caf::atom_constant<caf::atom("resume")>;
using restore_atom = caf::atom_constant<caf::atom("restore")>;
using expire_atom = caf::atom_constant<caf::atom("expire")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using count_atom = caf::atom_constant<caf::atom("count")>;
using remote_atom = caf::atom_constant<caf::atom("remote")>;
using settle_atom = caf::atom_constant<caf::atom("settle")>;

/// Where an order's answer goes: the HTTP worker waiting on its reply slot.
using place_reply = reply_to<place_outcome>;
using command_reply = reply_to<command_outcome>;

/// Inventory's reply to a reserve: the price fixed for the order, the product's hold, and
/// whether this reserve made the hold (false: it existed, for the same order id); a saga
/// compensates only holds it made.
struct reserve_reply {
  std::int64_t unit_price_cents = 0;
  std::int64_t hold_seconds = 0;
  bool fresh = true;
};

/// Reserve, release, sell of one product, as a saga asks them of a product another partition
/// serves (cluster mode: actors/remote_stock.hpp).
using stock_command = std::variant<reserve_stock, release_stock, sell_stock>;
/// A reserve's reply; `true` for a release or a sale done (or already done); or why not.
using stock_outcome = std::variant<reserve_reply, bool, rejection>;

const std::string& product_of(const stock_command& command);
const std::string& order_of(const stock_command& command);

/// A saga's verdict on one hold of its order that a product in another partition still keeps
/// (that product's owner asks: node/cluster_node's reconciler). `settled`: the hold was given
/// back or sold as the order's state says; otherwise the owner asks again at `recheck_at` (a
/// reserved order's expiry, or soon when the order is being placed right now).
struct hold_verdict {
  bool settled = false;
  timestamp_ms recheck_at = 0;
};
using settle_outcome = std::variant<hold_verdict, rejection>;
using settle_reply = reply_to<settle_outcome>;

/// Inventory's reply to a define: the committed view, and whether the product is new.
struct define_reply {
  product_view view;
  bool created = false;
};

/// The commit report the store's writer thread posts back to an actor (actors/durable.hpp).
using committed_signature = caf::reacts_to<committed_atom, std::uint64_t, int, std::string>;

/// Reserve, release, sell: what a saga asks of stock, from an inventory or via the directory.
using stock_actor =
    caf::typed_actor<caf::replies_to<reserve_atom, reserve_stock>::with<reserve_reply>,
                     caf::replies_to<release_atom, release_stock>::with<bool>,
                     caf::replies_to<sell_atom, sell_stock>::with<bool>>;

using inventory_actor =
    stock_actor::extend<caf::replies_to<define_atom, define_product>::with<define_reply>,
                        caf::reacts_to<place_atom, place_order, place_reply>, committed_signature>;

using scheduler_actor =
    caf::typed_actor<caf::reacts_to<tick_atom>,       // look at the clock and the book now
                     caf::reacts_to<tick_atom, bool>, // its own timer (true) or a yield (false)
                     caf::replies_to<count_atom>::with<std::int64_t>>;

using saga_actor = caf::typed_actor<caf::reacts_to<place_atom, place_order, place_reply>,
                                    caf::reacts_to<command_atom, order_command, command_reply>,
                                    caf::reacts_to<expire_atom>, caf::reacts_to<resume_atom>,
                                    caf::reacts_to<settle_atom, std::string, settle_reply>,
                                    caf::reacts_to<loaded_atom, stream_read>, committed_signature>;

using directory_actor = stock_actor::extend<
    caf::replies_to<define_atom, define_product>::with<define_reply>,
    caf::reacts_to<place_atom, place_order, place_reply>,
    caf::reacts_to<command_atom, std::string, order_command, command_reply>,
    caf::reacts_to<expire_atom, std::string>,
    // A saga asking to stop; true when the directory forwarded it nothing it has not seen.
    caf::replies_to<passivate_atom, std::string, std::uint64_t>::with<bool>,
    caf::reacts_to<restore_atom, product_state>, caf::reacts_to<resume_atom, order_state>,
    caf::reacts_to<tick_atom>, caf::replies_to<count_atom>::with<std::int64_t, std::int64_t>,
    // Cluster mode: a hold kept elsewhere for `order id` of product `id`, to be settled by the
    // order's saga; and the answer of a stock command sent elsewhere, by its ticket.
    caf::reacts_to<settle_atom, std::string, std::string, settle_reply>,
    caf::reacts_to<remote_atom, std::uint64_t, stock_outcome>>;

/// The caf::error category of domain rejections; the context message carries the text.
inline constexpr caf::atom_value error_category = caf::atom("flashsale");

caf::error to_caf_error(const rejection& r);
/// Domain rejections come back as they were; timeouts and dead actors become `unavailable`.
rejection to_rejection(const caf::error& e);

/// The rejection an actor answers when the store refused its events.
rejection store_unavailable(const store_error& err);

} // namespace flashsale

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(flashsale::place_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(flashsale::command_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(flashsale::settle_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(flashsale::stock_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(flashsale::reserve_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(flashsale::define_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(flashsale::define_product)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(flashsale::reserve_stock)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(flashsale::release_stock)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(flashsale::sell_stock)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(flashsale::place_order)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(flashsale::order_command)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(flashsale::order_state)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(flashsale::product_state)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(flashsale::stream_read)
