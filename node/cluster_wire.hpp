// The wire form of what cluster nodes forward to each other on `flashsale.cmd.<p>` and
// `flashsale.stock.<p>`
// (node/cluster_node): each node_api request and its outcome as JSON, one encoder and one
// decoder per type, so both sides share one definition. An order travels as its events
// (envelopes), and the asking node folds them with the same `apply`.
// Decoders throw nlohmann::json::exception on a malformed message; callers catch it.
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "actors/node_api.hpp"
#include "actors/protocol.hpp"
#include "events/envelope.hpp"

namespace flashsale::cluster_wire {

using nlohmann::json;

json rejection_json(const rejection& r);
rejection rejection_of(const json& j);
json view_json(const product_view& v);
product_view view_of(const json& j);
json events_json(const std::vector<envelope>& events);
std::vector<envelope> events_of(const json& j);

json request_json(const order_request& r); ///< {"op":"place", ...}
order_request request_of(const json& j);
json place_json(const place_outcome& o);
place_outcome place_of(const json& j);
json define_json(const define_product& c);
define_product define_of(const json& j);
json command_json(const order_command& c);
order_command command_of(const json& j);

// A cart across partitions: a saga's stock command for a product served elsewhere (on
// `flashsale.stock.<p>`), and a product owner's question about a hold it keeps for an order
// elsewhere ({"op":"settle"} on `flashsale.cmd.<p>`).
json stock_json(const stock_command& c);
stock_command stock_of(const json& j);
json stock_outcome_json(const stock_outcome& o);
stock_outcome stock_outcome_of(const json& j);
json settle_outcome_json(const settle_outcome& o);
settle_outcome settle_outcome_of(const json& j);

} // namespace flashsale::cluster_wire
