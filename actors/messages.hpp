// The vocabulary actors speak: atoms, the command and reply types that travel in messages,
// and the conversion between domain rejections and caf::error. Local-only types are allowed
// as unsafe message types: nothing here crosses a process boundary (scale-out will speak
// JSON over NATS, see docs/ARCHITECTURE.md). Only the small CAF headers belong here.
#pragma once

#include <cstdint>
#include <string>
#include <variant>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>

#include "actors/node_api.hpp"
#include "actors/read_models.hpp"
#include "actors/reply_slot.hpp"
#include "events/errors.hpp"
#include "events/order.hpp"
#include "events/product.hpp"

namespace flashsale {

using define_atom = caf::atom_constant<caf::atom("define")>;
using reserve_atom = caf::atom_constant<caf::atom("reserve")>;
using release_atom = caf::atom_constant<caf::atom("release")>;
using sell_atom = caf::atom_constant<caf::atom("sell")>;
using committed_atom = caf::atom_constant<caf::atom("committed")>;
using place_atom = caf::atom_constant<caf::atom("place")>;
using command_atom = caf::atom_constant<caf::atom("command")>;
using revive_atom = caf::atom_constant<caf::atom("revive")>;
using resume_atom = caf::atom_constant<caf::atom("resume")>;
using restore_atom = caf::atom_constant<caf::atom("restore")>;
using expire_atom = caf::atom_constant<caf::atom("expire")>;
using schedule_atom = caf::atom_constant<caf::atom("schedule")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using count_atom = caf::atom_constant<caf::atom("count")>;

/// Inventory's reply to a reserve: the price fixed for the order and the product's hold.
struct reserve_reply {
  std::int64_t unit_price_cents = 0;
  std::int64_t hold_seconds = 0;
};

/// Inventory's reply to a define: the committed view, and whether the product is new.
struct define_reply {
  product_view view;
  bool created = false;
};

/// The caf::error category of domain rejections; the context message carries the text.
inline constexpr caf::atom_value error_category = caf::atom("flashsale");

caf::error to_caf_error(const rejection& r);
caf::error to_caf_error(errc code, std::string message);
/// Domain rejections come back as they were; timeouts and dead actors become `unavailable`.
rejection to_rejection(const caf::error& e);

answer error_answer(const rejection& r);

} // namespace flashsale

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(flashsale::answer)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(flashsale::reply_to)
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
