#include "events/order_view.hpp"

#include <nlohmann/json.hpp>

#include "events/fast_encode.hpp"
#include "events/time.hpp"

namespace flashsale {

namespace {

/// The view written directly, in the documented field order: this is the body of every 201.
/// nullopt when a string needs nlohmann's UTF-8 check (a byte >= 0x80).
std::optional<std::string> fast_view(const order_state& o) {
  std::string out;
  out.reserve(256 + 64 * o.history.size());
  bool plain = true;
  auto key = [&out](const char* k) {
    out += '"';
    out += k;
    out += "\":";
  };
  auto str = [&](const char* k, std::string_view v) {
    key(k);
    plain = append_json_string(out, v) && plain;
  };
  auto time_or_null = [&](const char* k, const std::optional<timestamp_ms>& t) {
    if (t) {
      str(k, format_rfc3339(*t));
      return;
    }
    key(k);
    out += "null";
  };
  out += '{';
  str("order_id", o.order_id);
  out += ',';
  str("user_id", o.user_id);
  out += ',';
  str("status", to_string(o.status));
  out += ',';
  key("items");
  out += '[';
  for (std::size_t i = 0; i < o.items.size(); ++i) {
    out += i ? ",{" : "{";
    str("product_id", o.items[i].product_id);
    out += ',';
    key("quantity");
    append_json_int(out, o.items[i].quantity);
    out += '}';
  }
  out += "],";
  key("total_cents");
  append_json_int(out, o.total_cents);
  out += ',';
  str("created_at", format_rfc3339(o.created_at));
  out += ',';
  str("updated_at", format_rfc3339(o.updated_at));
  out += ',';
  time_or_null("expires_at", o.expires_at);
  out += ',';
  if (o.payment_id) {
    str("payment_id", *o.payment_id);
  } else {
    key("payment_id");
    out += "null";
  }
  out += ',';
  key("history");
  out += '[';
  for (std::size_t i = 0; i < o.history.size(); ++i) {
    out += i ? ",{" : "{";
    str("type", o.history[i].type);
    out += ',';
    str("at", format_rfc3339(o.history[i].at));
    out += '}';
  }
  out += "]}";
  if (!plain)
    return std::nullopt;
  return out;
}

} // namespace

std::string order_view_json(const order_state& o) {
  if (auto fast = fast_view(o))
    return std::move(*fast);
  return order_view_json_dom(o);
}

std::string order_view_json_dom(const order_state& o) {
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
