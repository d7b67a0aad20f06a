// The envelope every stored event travels in: the row of the events table, the body
// published on NATS, and the input of every `apply`. Wire form (JSON):
//   {"seq": 17, "stream": "order-o-1", "version": 2, "type": "OrderReserved",
//    "data": {...the event's own fields...}, "recorded_at": "2026-11-21T10:00:00.000Z"}
// invariant: within one stream, versions are 1, 2, 3, ... without gaps; seq is global and
// strictly increasing in commit order. Pure: no I/O, no clock.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace flashsale {

/// Milliseconds since the Unix epoch, UTC. Time is always passed in, never read here.
using timestamp_ms = std::int64_t;

struct envelope {
  std::int64_t seq = 0;     ///< global position, assigned by the store on commit; 0 = not yet
  std::string stream;       ///< "product-<id>" or "order-<id>"
  std::int64_t version = 0; ///< 1-based position within `stream`
  std::string type;         ///< event type name, e.g. "StockReserved"
  std::string data;         ///< the event's fields as a JSON object, serialized
  timestamp_ms recorded_at = 0;
};

/// The envelope as published on NATS and printed by `flashsale replay`.
void to_json(nlohmann::json& j, const envelope& e);
/// The same bytes as nlohmann::json(e).dump(), without parsing `data` into a DOM and
/// writing it back (the outbox relay publishes every event: that round trip was most of its
/// CPU). `data` is already the compact, key-sorted JSON the store holds, so it is copied.
std::string envelope_json(const envelope& e);
/// Throws nlohmann::json::exception on a malformed envelope; callers at an edge catch it.
void from_json(const nlohmann::json& j, envelope& e);

} // namespace flashsale
