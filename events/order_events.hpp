// The events of an order stream ("order-<order_id>"): the saga's steps. JSON (envelope data):
//   OrderPlaced    {order_id, user_id, items: [{product_id, quantity}], idempotency_key,
//                   request_hash, placed_at (RFC 3339)}
//   OrderReserved  {order_id, expires_at, total_cents,
//                   lines: [{product_id, quantity, unit_price_cents}]}
//   OrderRejected  {order_id, code (an errc code string), message}
//   OrderPaid      {order_id, payment_id, event_id, amount_cents}
//   OrderCancelled {order_id, reason ("user" | "payment_failed"), payment_id, event_id}
//   OrderExpired   {order_id}
//   PaymentRejected{order_id, payment_id, event_id, amount_cents, reason}
// from_json ignores unknown fields and defaults optional/newer ones, so old logs replay. The
// field lists behind every codec, with each field's fallback, are in events/event_fields.hpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "events/envelope.hpp"

namespace flashsale {

/// One requested item of an order.
struct order_line {
  std::string product_id;
  std::int64_t quantity = 0;
};

/// One reserved item with the unit price fixed at reservation.
struct priced_line {
  std::string product_id;
  std::int64_t quantity = 0;
  std::int64_t unit_price_cents = 0;
};

struct OrderPlaced {
  std::string order_id;
  std::string user_id;
  std::vector<order_line> items;
  std::string idempotency_key; ///< may be empty
  std::string request_hash;    ///< hash of the canonical request (keyed orders; else empty)
  timestamp_ms placed_at = 0;
};

/// Every item is held; the order waits for payment until `expires_at`.
struct OrderReserved {
  std::string order_id;
  timestamp_ms expires_at = 0;
  std::int64_t total_cents = 0;
  std::vector<priced_line> lines;
};

struct OrderRejected {
  std::string order_id;
  std::string code; ///< code_string(errc), kept as text so unknown future codes still replay
  std::string message;
};

struct OrderPaid {
  std::string order_id;
  std::string payment_id;
  std::string event_id; ///< the webhook event that paid it
  std::int64_t amount_cents = 0;
};

inline constexpr const char* cancel_reason_user = "user";
inline constexpr const char* cancel_reason_payment_failed = "payment_failed";

struct OrderCancelled {
  std::string order_id;
  std::string reason = cancel_reason_user; ///< "user" | "payment_failed"
  std::string payment_id;                  ///< empty unless reason is payment_failed
  std::string event_id;                    ///< empty unless reason is payment_failed
};

struct OrderExpired {
  std::string order_id;
};

/// A payment arrived for an order that can no longer take it; recorded so it is refunded.
/// The order's status does not change.
struct PaymentRejected {
  std::string order_id;
  std::string payment_id;
  std::string event_id;
  std::int64_t amount_cents = 0;
  std::string reason;
};

void to_json(nlohmann::json& j, const order_line& l);
void from_json(const nlohmann::json& j, order_line& l);
void to_json(nlohmann::json& j, const priced_line& l);
void from_json(const nlohmann::json& j, priced_line& l);
void to_json(nlohmann::json& j, const OrderPlaced& e);
void from_json(const nlohmann::json& j, OrderPlaced& e);
void to_json(nlohmann::json& j, const OrderReserved& e);
void from_json(const nlohmann::json& j, OrderReserved& e);
void to_json(nlohmann::json& j, const OrderRejected& e);
void from_json(const nlohmann::json& j, OrderRejected& e);
void to_json(nlohmann::json& j, const OrderPaid& e);
void from_json(const nlohmann::json& j, OrderPaid& e);
void to_json(nlohmann::json& j, const OrderCancelled& e);
void from_json(const nlohmann::json& j, OrderCancelled& e);
void to_json(nlohmann::json& j, const OrderExpired& e);
void from_json(const nlohmann::json& j, OrderExpired& e);
void to_json(nlohmann::json& j, const PaymentRejected& e);
void from_json(const nlohmann::json& j, PaymentRejected& e);

} // namespace flashsale
