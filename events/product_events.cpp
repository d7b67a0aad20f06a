#include "events/product_events.hpp"

#include <nlohmann/json.hpp>

#include "events/json_time.hpp"

namespace flashsale {

// Identity fields (ids, quantities) are required: an event without them is corrupt.
// Everything else is read with a default so that fields added later do not break old logs.

const char* to_string(release_reason r) {
  switch (r) {
    case release_reason::expired:
      return "expired";
    case release_reason::cancelled:
      return "cancelled";
    case release_reason::payment_failed:
      return "payment_failed";
    case release_reason::compensation:
      return "compensation";
  }
  return "compensation";
}

std::optional<release_reason> parse_release_reason(std::string_view s) {
  for (auto r : {release_reason::expired, release_reason::cancelled,
                 release_reason::payment_failed, release_reason::compensation})
    if (s == to_string(r))
      return r;
  return std::nullopt;
}

void to_json(nlohmann::json& j, const ProductDefined& e) {
  j = nlohmann::json{{"product_id", e.product_id},
                     {"name", e.name},
                     {"stock", e.stock},
                     {"price_cents", e.price_cents},
                     {"per_user_limit", e.per_user_limit},
                     {"sale_starts_at", json_time::write_optional(e.sale_starts_at)},
                     {"hold_seconds", e.hold_seconds}};
}

void from_json(const nlohmann::json& j, ProductDefined& e) {
  j.at("product_id").get_to(e.product_id);
  j.at("stock").get_to(e.stock);
  e.name = j.value("name", std::string());
  e.price_cents = j.value("price_cents", std::int64_t{0});
  e.per_user_limit = j.value("per_user_limit", std::int64_t{0});
  e.sale_starts_at = json_time::read_optional(j, "sale_starts_at");
  e.hold_seconds = j.value("hold_seconds", std::int64_t{600});
}

void to_json(nlohmann::json& j, const StockReserved& e) {
  j = nlohmann::json{{"product_id", e.product_id},
                     {"order_id", e.order_id},
                     {"user_id", e.user_id},
                     {"quantity", e.quantity},
                     {"unit_price_cents", e.unit_price_cents}};
}

void from_json(const nlohmann::json& j, StockReserved& e) {
  j.at("product_id").get_to(e.product_id);
  j.at("order_id").get_to(e.order_id);
  j.at("quantity").get_to(e.quantity);
  e.user_id = j.value("user_id", std::string());
  e.unit_price_cents = j.value("unit_price_cents", std::int64_t{0});
}

void to_json(nlohmann::json& j, const StockReleased& e) {
  j = nlohmann::json{{"product_id", e.product_id},
                     {"order_id", e.order_id},
                     {"user_id", e.user_id},
                     {"quantity", e.quantity},
                     {"reason", to_string(e.reason)}};
}

void from_json(const nlohmann::json& j, StockReleased& e) {
  j.at("product_id").get_to(e.product_id);
  j.at("order_id").get_to(e.order_id);
  j.at("quantity").get_to(e.quantity);
  e.user_id = j.value("user_id", std::string());
  auto reason = parse_release_reason(j.value("reason", std::string("compensation")));
  if (!reason)
    throw nlohmann::json::other_error::create(501, "unknown release reason", &j);
  e.reason = *reason;
}

void to_json(nlohmann::json& j, const StockSold& e) {
  j = nlohmann::json{{"product_id", e.product_id},
                     {"order_id", e.order_id},
                     {"user_id", e.user_id},
                     {"quantity", e.quantity}};
}

void from_json(const nlohmann::json& j, StockSold& e) {
  j.at("product_id").get_to(e.product_id);
  j.at("order_id").get_to(e.order_id);
  j.at("quantity").get_to(e.quantity);
  e.user_id = j.value("user_id", std::string());
}

} // namespace flashsale
