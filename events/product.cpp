#include "events/product.hpp"

namespace flashsale {

namespace {

std::string product_label(const std::string& id) {
  return "product '" + id + "'";
}

const hold* find_hold(const product_state& s, const std::string& order_id) {
  auto it = s.holds.find(order_id);
  return it == s.holds.end() ? nullptr : &it->second;
}

std::int64_t units_of(const product_state& s, const std::string& user_id) {
  auto it = s.user_units.find(user_id);
  return it == s.user_units.end() ? 0 : it->second;
}

void add_units(product_state& s, const std::string& user_id, std::int64_t delta) {
  auto& n = s.user_units[user_id];
  n += delta;
  if (n == 0)
    s.user_units.erase(user_id); // keeps the map bounded by users holding something
}

} // namespace

const char* to_string(hold_state s) {
  switch (s) {
  case hold_state::held:
    return "held";
  case hold_state::sold:
    return "sold";
  case hold_state::released:
    return "released";
  }
  return "held";
}

decision decide(const product_state& s, const define_product& c) {
  if (c.product_id.empty())
    return decision::reject(errc::invalid_request, "product_id must not be empty");
  // The same rule, and message, as the HTTP edge's (one per field, in the field list).
  if (auto problem = definition_problem(c))
    return decision::reject(errc::invalid_request, *problem);
  if (s.exists) {
    // Units already promised to buyers cannot be taken back by an update.
    if (c.stock < s.reserved + s.sold)
      return decision::reject(errc::stock_below_committed, "stock " + std::to_string(c.stock)
                                                               + " is below the "
                                                               + std::to_string(s.reserved + s.sold)
                                                               + " units reserved or sold");
    // A lower limit would leave a buyer over it, breaking the per-user invariant.
    if (c.per_user_limit > 0)
      for (const auto& [user, units] : s.user_units)
        if (units > c.per_user_limit)
          return decision::reject(errc::invalid_state,
                                  "per_user_limit " + std::to_string(c.per_user_limit)
                                      + " is below the " + std::to_string(units) + " units user '"
                                      + user + "' already holds");
    if (same_definition(c, s))
      return decision::already_done();
  }
  return decision::emit(ProductDefined{c});
}

decision unknown_product(const std::string& product_id) {
  return decision::reject(errc::unknown_product, product_label(product_id) + " does not exist");
}

decision sold_out(const std::string& product_id, std::int64_t available) {
  return decision::reject(errc::sold_out, product_label(product_id) + " has only "
                                              + std::to_string(available) + " units available");
}

decision decide(const product_state& s, const reserve_stock& c, timestamp_ms now) {
  if (!s.exists)
    return unknown_product(c.product_id);
  if (c.quantity < 1)
    return decision::reject(errc::invalid_request, "quantity must be >= 1");
  if (c.order_id.empty() || c.user_id.empty())
    return decision::reject(errc::invalid_request, "order_id and user_id must not be empty");
  if (const hold* h = find_hold(s, c.order_id)) {
    if (h->state == hold_state::released)
      return decision::reject(errc::invalid_state, "order '" + c.order_id + "' already released "
                                                       + product_label(s.product_id));
    return decision::already_done();
  }
  if (s.sale_starts_at && now < *s.sale_starts_at)
    return decision::reject(errc::sale_not_started,
                            "the sale of " + product_label(s.product_id) + " has not started");
  if (s.per_user_limit > 0 && units_of(s, c.user_id) + c.quantity > s.per_user_limit)
    return decision::reject(errc::limit_exceeded, "at most " + std::to_string(s.per_user_limit)
                                                      + " units of " + product_label(s.product_id)
                                                      + " per user");
  if (s.available() < c.quantity)
    return sold_out(s.product_id, s.available());
  return decision::emit(
      StockReserved{s.product_id, c.order_id, c.user_id, c.quantity, s.price_cents});
}

decision decide(const product_state& s, const release_stock& c) {
  const hold* h = find_hold(s, c.order_id);
  if (!h)
    return {}; // compensation may release what was never reserved
  switch (h->state) {
  case hold_state::released:
    return decision::already_done();
  case hold_state::sold:
    return decision::reject(errc::invalid_state, "order '" + c.order_id + "' already bought "
                                                     + product_label(s.product_id));
  case hold_state::held:
    break;
  }
  return decision::emit(StockReleased{s.product_id, c.order_id, h->user_id, h->quantity, c.reason});
}

decision decide(const product_state& s, const sell_stock& c) {
  if (!s.exists)
    return unknown_product(c.product_id);
  const hold* h = find_hold(s, c.order_id);
  if (!h)
    return decision::reject(errc::invalid_state, "order '" + c.order_id + "' holds nothing of "
                                                     + product_label(s.product_id));
  switch (h->state) {
  case hold_state::sold:
    return decision::already_done();
  case hold_state::released:
    return decision::reject(errc::invalid_state,
                            "order '" + c.order_id + "' released " + product_label(s.product_id));
  case hold_state::held:
    break;
  }
  return decision::emit(StockSold{s.product_id, c.order_id, h->user_id, h->quantity});
}

void apply(product_state& s, const event& e) {
  if (!is_product_event(e))
    return;
  ++s.version;
  if (auto* d = std::get_if<ProductDefined>(&e)) {
    s.exists = true;
    static_cast<product_definition&>(s) = *d;
  } else if (auto* r = std::get_if<StockReserved>(&e)) {
    s.reserved += r->quantity;
    add_units(s, r->user_id, r->quantity);
    s.holds[r->order_id] = hold{r->user_id, r->quantity, r->unit_price_cents, hold_state::held};
  } else if (auto* rel = std::get_if<StockReleased>(&e)) {
    s.reserved -= rel->quantity;
    add_units(s, rel->user_id, -rel->quantity);
    s.holds[rel->order_id].state = hold_state::released;
  } else if (auto* sold = std::get_if<StockSold>(&e)) {
    s.reserved -= sold->quantity;
    s.sold += sold->quantity;
    s.holds[sold->order_id].state = hold_state::sold;
  }
}

} // namespace flashsale
