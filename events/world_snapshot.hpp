// A world (events/world.hpp) as one snapshot: what the node saves every
// `store.snapshot_every` events so recovery and replay start from it instead of seq 0.
// Format (JSON, internal: times are integer milliseconds, not RFC 3339, for speed):
//   {"format": 1, "last_seq", "events", "forget_settled_orders",
//    "order_counts": {"<status>": n},
//    "products": [{...every product_state field, "holds": "<packed>", "user_units": "<packed>"}],
//    "orders": [{...every order_state field}]}
// Format 2 packs holds and per-user counts into strings (see world_snapshot.cpp); format 1
// (JSON objects) is still read. invariant: decode(encode(w)) folds on exactly like w. A
// snapshot of another format is refused (the caller then replays from scratch). Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "events/world.hpp"

namespace flashsale {

inline constexpr int world_snapshot_format = 2;

std::string encode_world(const world& w);

/// The number of entries (orders, holds, per-user counts) encode_world(w) writes: encoding
/// and decoding a snapshot cost about as much as folding that many events.
std::int64_t snapshot_entries(const world& w);

/// The world, or nullopt with `error` set (malformed, or another format).
std::optional<world> decode_world(std::string_view text, std::string& error);

} // namespace flashsale
