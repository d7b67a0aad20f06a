// The events of a product stream ("product-<product_id>"): what the inventory decided.
// Each is a plain struct; its JSON form (the envelope's `data`) uses the field names below:
//   ProductDefined {product_id, name, stock, per_user_limit, price_cents,
//                   sale_starts_at (RFC 3339 | null), hold_seconds} (the product field list)
//   StockReserved  {product_id, order_id, user_id, quantity, unit_price_cents}
//   StockReleased  {product_id, order_id, user_id, quantity, reason}
//   StockSold      {product_id, order_id, user_id, quantity}
// from_json ignores unknown fields and defaults optional/newer ones, so old logs replay. The
// field lists behind every codec, with each field's fallback, are in events/event_fields.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "events/envelope.hpp"
#include "events/product_fields.hpp"

namespace flashsale {

/// Why held units went back on sale. Wire strings: "expired", "cancelled",
/// "payment_failed", "compensation" (a saga undoing part of a failed multi-item order).
enum class release_reason { expired, cancelled, payment_failed, compensation };

const char* to_string(release_reason r);
std::optional<release_reason> parse_release_reason(std::string_view s);

/// A product was created or its definition replaced (counts are never part of it). Its fields
/// are the product's (events/product_fields.hpp).
struct ProductDefined : product_definition {};

/// `quantity` units moved from available to reserved for one order, at the then price.
struct StockReserved {
  std::string product_id;
  std::string order_id;
  std::string user_id;
  std::int64_t quantity = 0;
  std::int64_t unit_price_cents = 0;
};

/// An order's held units returned to available.
struct StockReleased {
  std::string product_id;
  std::string order_id;
  std::string user_id;
  std::int64_t quantity = 0;
  release_reason reason = release_reason::compensation;
};

/// An order's held units moved from reserved to sold (the order was paid).
struct StockSold {
  std::string product_id;
  std::string order_id;
  std::string user_id;
  std::int64_t quantity = 0;
};

void to_json(nlohmann::json& j, const ProductDefined& e);
void from_json(const nlohmann::json& j, ProductDefined& e);
void to_json(nlohmann::json& j, const StockReserved& e);
void from_json(const nlohmann::json& j, StockReserved& e);
void to_json(nlohmann::json& j, const StockReleased& e);
void from_json(const nlohmann::json& j, StockReleased& e);
void to_json(nlohmann::json& j, const StockSold& e);
void from_json(const nlohmann::json& j, StockSold& e);

} // namespace flashsale
