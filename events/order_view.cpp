#include "events/order_view.hpp"

#include <nlohmann/json.hpp>

#include "events/time.hpp"

namespace flashsale {

std::string order_view_json(const order_state& o) {
  using json = nlohmann::ordered_json; // field order as documented, stable across runs
  json items = json::array();
  for (auto& item : o.items)
    items.push_back(json{{"product_id", item.product_id}, {"quantity", item.quantity}});
  json history = json::array();
  for (auto& h : o.history)
    history.push_back(json{{"type", h.type}, {"at", format_rfc3339(h.at)}});
  json view{{"order_id", o.order_id},
            {"user_id", o.user_id},
            {"status", to_string(o.status)},
            {"items", std::move(items)},
            {"total_cents", o.total_cents},
            {"created_at", format_rfc3339(o.created_at)},
            {"updated_at", format_rfc3339(o.updated_at)},
            {"expires_at", o.expires_at ? json(format_rfc3339(*o.expires_at)) : json(nullptr)},
            {"payment_id", o.payment_id ? json(*o.payment_id) : json(nullptr)},
            {"history", std::move(history)}};
  return view.dump();
}

} // namespace flashsale
