#include "node/cluster_wire.hpp"

namespace flashsale::cluster_wire {

json rejection_json(const rejection& r) {
  return {{"code", code_string(r.code)}, {"message", r.message}};
}

rejection rejection_of(const json& j) {
  return {parse_errc(j.at("code").get<std::string>()).value_or(errc::internal),
          j.at("message").get<std::string>()};
}

// The product view and define travel in the codecs of the product field list
// (events/product_fields.hpp): the view as HTTP shows it, the define as a ProductDefined.
json view_json(const product_view& v) {
  return v;
}

product_view view_of(const json& j) {
  return j.get<product_view>();
}

json events_json(const std::vector<envelope>& events) {
  json a = json::array();
  for (auto& e : events)
    a.push_back(e);
  return a;
}

std::vector<envelope> events_of(const json& j) {
  std::vector<envelope> events;
  for (auto& e : j)
    events.push_back(e.get<envelope>());
  return events;
}

json request_json(const order_request& r) {
  json items = json::array();
  for (auto& i : r.items)
    items.push_back({i.product_id, i.quantity});
  return {{"op", "place"},
          {"user_id", r.user_id},
          {"items", items},
          {"key", r.idempotency_key},
          {"deadline", r.deadline}};
}
order_request request_of(const json& j) {
  order_request r;
  r.user_id = j.at("user_id").get<std::string>();
  r.idempotency_key = j.at("key").get<std::string>();
  r.deadline = j.value("deadline", timestamp_ms{0});
  for (auto& i : j.at("items"))
    r.items.push_back({i.at(0).get<std::string>(), i.at(1).get<std::int64_t>()});
  return r;
}
json place_json(const place_outcome& o) {
  json j{{"replayed", o.replayed}};
  if (auto placed = std::get_if<placed_order>(&o.result))
    j["placed"] = {{"order_id", placed->order_id}, {"view", placed->view}};
  else
    j["rejected"] = rejection_json(std::get<rejection>(o.result));
  return j;
}
place_outcome place_of(const json& j) {
  place_outcome o;
  o.replayed = j.value("replayed", false);
  if (j.contains("placed"))
    o.result = placed_order{j["placed"].at("order_id").get<std::string>(),
                            j["placed"].at("view").get<std::string>()};
  else
    o.result = rejection_of(j.at("rejected"));
  return o;
}
json define_json(const define_product& c) {
  return ProductDefined{c};
}
define_product define_of(const json& j) {
  return define_product{j.get<ProductDefined>()};
}
json command_json(const order_command& c) {
  if (auto paid = std::get_if<payment_succeeded>(&c)) {
    json j{{"kind", "paid"}, {"event_id", paid->event_id}, {"payment_id", paid->payment_id}};
    if (paid->amount_cents)
      j["amount_cents"] = *paid->amount_cents;
    return j;
  }
  if (auto failed = std::get_if<payment_failed>(&c))
    return {{"kind", "failed"}, {"event_id", failed->event_id}, {"payment_id", failed->payment_id}};
  return {{"kind", "cancel"}, {"user_id", std::get<cancel_order>(c).user_id}};
}
order_command command_of(const json& j) {
  auto kind = j.at("kind").get<std::string>();
  if (kind == "paid") {
    payment_succeeded p{j.at("event_id").get<std::string>(), j.at("payment_id").get<std::string>(),
                        std::nullopt};
    if (j.contains("amount_cents"))
      p.amount_cents = j["amount_cents"].get<std::int64_t>();
    return p;
  }
  if (kind == "failed")
    return payment_failed{j.at("event_id").get<std::string>(),
                          j.at("payment_id").get<std::string>()};
  return cancel_order{j.at("user_id").get<std::string>()};
}

json stock_json(const stock_command& c) {
  if (auto r = std::get_if<reserve_stock>(&c))
    return {{"kind", "reserve"},
            {"product_id", r->product_id},
            {"order_id", r->order_id},
            {"user_id", r->user_id},
            {"quantity", r->quantity}};
  if (auto r = std::get_if<release_stock>(&c))
    return {{"kind", "release"},
            {"product_id", r->product_id},
            {"order_id", r->order_id},
            {"reason", to_string(r->reason)}};
  auto& sell = std::get<sell_stock>(c);
  return {{"kind", "sell"}, {"product_id", sell.product_id}, {"order_id", sell.order_id}};
}

stock_command stock_of(const json& j) {
  auto kind = j.at("kind").get<std::string>();
  auto product = j.at("product_id").get<std::string>();
  auto order = j.at("order_id").get<std::string>();
  if (kind == "reserve")
    return reserve_stock{product, order, j.at("user_id").get<std::string>(),
                         j.at("quantity").get<std::int64_t>()};
  if (kind == "release") {
    auto reason = parse_release_reason(j.at("reason").get<std::string>());
    if (!reason)
      throw json::other_error::create(501, "unknown release reason", &j);
    return release_stock{product, order, *reason};
  }
  if (kind == "sell")
    return sell_stock{product, order};
  throw json::other_error::create(501, "unknown stock command " + kind, &j);
}

json stock_outcome_json(const stock_outcome& o) {
  if (auto r = std::get_if<reserve_reply>(&o))
    return {{"reserved",
             {{"unit_price_cents", r->unit_price_cents},
              {"hold_seconds", r->hold_seconds},
              {"fresh", r->fresh}}}};
  if (auto no = std::get_if<rejection>(&o))
    return {{"rejected", rejection_json(*no)}};
  return {{"done", std::get<bool>(o)}};
}

stock_outcome stock_outcome_of(const json& j) {
  if (j.contains("rejected"))
    return rejection_of(j.at("rejected"));
  if (j.contains("reserved")) {
    auto& r = j.at("reserved");
    return reserve_reply{r.at("unit_price_cents").get<std::int64_t>(),
                         r.at("hold_seconds").get<std::int64_t>(), r.at("fresh").get<bool>()};
  }
  return j.at("done").get<bool>();
}

json settle_outcome_json(const settle_outcome& o) {
  if (auto no = std::get_if<rejection>(&o))
    return {{"rejected", rejection_json(*no)}};
  auto& v = std::get<hold_verdict>(o);
  return {{"settled", v.settled}, {"recheck_at", v.recheck_at}};
}

settle_outcome settle_outcome_of(const json& j) {
  if (j.contains("rejected"))
    return rejection_of(j.at("rejected"));
  return hold_verdict{j.at("settled").get<bool>(), j.at("recheck_at").get<timestamp_ms>()};
}

} // namespace flashsale::cluster_wire
