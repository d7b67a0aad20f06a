#include "events/order_events.hpp"

#include <nlohmann/json.hpp>

#include "events/json_time.hpp"

namespace flashsale {

// Identity fields (order_id, items, times that define the state machine) are required: an
// event without them is corrupt. Everything else is read with a default so that fields
// added later do not break old logs.

namespace {

std::string str(const nlohmann::json& j, const char* key) {
  return j.value(key, std::string());
}

std::int64_t num(const nlohmann::json& j, const char* key) {
  return j.value(key, std::int64_t{0});
}

} // namespace

void to_json(nlohmann::json& j, const order_line& l) {
  j = nlohmann::json{{"product_id", l.product_id}, {"quantity", l.quantity}};
}

void from_json(const nlohmann::json& j, order_line& l) {
  j.at("product_id").get_to(l.product_id);
  j.at("quantity").get_to(l.quantity);
}

void to_json(nlohmann::json& j, const priced_line& l) {
  j = nlohmann::json{{"product_id", l.product_id},
                     {"quantity", l.quantity},
                     {"unit_price_cents", l.unit_price_cents}};
}

void from_json(const nlohmann::json& j, priced_line& l) {
  j.at("product_id").get_to(l.product_id);
  j.at("quantity").get_to(l.quantity);
  l.unit_price_cents = num(j, "unit_price_cents");
}

void to_json(nlohmann::json& j, const OrderPlaced& e) {
  j = nlohmann::json{{"order_id", e.order_id},
                     {"user_id", e.user_id},
                     {"items", e.items},
                     {"idempotency_key", e.idempotency_key},
                     {"request_hash", e.request_hash},
                     {"placed_at", format_rfc3339(e.placed_at)}};
}

void from_json(const nlohmann::json& j, OrderPlaced& e) {
  j.at("order_id").get_to(e.order_id);
  j.at("user_id").get_to(e.user_id);
  j.at("items").get_to(e.items);
  e.idempotency_key = str(j, "idempotency_key");
  e.request_hash = str(j, "request_hash");
  e.placed_at = json_time::read(j, "placed_at");
}

void to_json(nlohmann::json& j, const OrderReserved& e) {
  j = nlohmann::json{{"order_id", e.order_id},
                     {"expires_at", format_rfc3339(e.expires_at)},
                     {"total_cents", e.total_cents},
                     {"lines", e.lines}};
}

void from_json(const nlohmann::json& j, OrderReserved& e) {
  j.at("order_id").get_to(e.order_id);
  e.expires_at = json_time::read(j, "expires_at");
  e.total_cents = num(j, "total_cents");
  e.lines.clear();
  if (auto it = j.find("lines"); it != j.end() && !it->is_null())
    it->get_to(e.lines);
}

void to_json(nlohmann::json& j, const OrderRejected& e) {
  j = nlohmann::json{{"order_id", e.order_id}, {"code", e.code}, {"message", e.message}};
}

void from_json(const nlohmann::json& j, OrderRejected& e) {
  j.at("order_id").get_to(e.order_id);
  e.code = j.value("code", std::string("internal"));
  e.message = str(j, "message");
}

void to_json(nlohmann::json& j, const OrderPaid& e) {
  j = nlohmann::json{{"order_id", e.order_id},
                     {"payment_id", e.payment_id},
                     {"event_id", e.event_id},
                     {"amount_cents", e.amount_cents}};
}

void from_json(const nlohmann::json& j, OrderPaid& e) {
  j.at("order_id").get_to(e.order_id);
  e.payment_id = str(j, "payment_id");
  e.event_id = str(j, "event_id");
  e.amount_cents = num(j, "amount_cents");
}

void to_json(nlohmann::json& j, const OrderCancelled& e) {
  j = nlohmann::json{{"order_id", e.order_id},
                     {"reason", e.reason},
                     {"payment_id", e.payment_id},
                     {"event_id", e.event_id}};
}

void from_json(const nlohmann::json& j, OrderCancelled& e) {
  j.at("order_id").get_to(e.order_id);
  e.reason = j.value("reason", std::string(cancel_reason_user));
  e.payment_id = str(j, "payment_id");
  e.event_id = str(j, "event_id");
}

void to_json(nlohmann::json& j, const OrderExpired& e) {
  j = nlohmann::json{{"order_id", e.order_id}};
}

void from_json(const nlohmann::json& j, OrderExpired& e) {
  j.at("order_id").get_to(e.order_id);
}

void to_json(nlohmann::json& j, const PaymentRejected& e) {
  j = nlohmann::json{{"order_id", e.order_id},
                     {"payment_id", e.payment_id},
                     {"event_id", e.event_id},
                     {"amount_cents", e.amount_cents},
                     {"reason", e.reason}};
}

void from_json(const nlohmann::json& j, PaymentRejected& e) {
  j.at("order_id").get_to(e.order_id);
  e.payment_id = str(j, "payment_id");
  e.event_id = str(j, "event_id");
  e.amount_cents = num(j, "amount_cents");
  e.reason = str(j, "reason");
}

} // namespace flashsale
