#include "events/world.hpp"

#include <algorithm>
#include <tuple>

namespace flashsale {

namespace {

const hold* find_hold(const world& w, const std::string& product_id, const std::string& order_id) {
  auto p = w.products.find(product_id);
  if (p == w.products.end())
    return nullptr;
  auto h = p->second.holds.find(order_id);
  return h == p->second.holds.end() ? nullptr : &h->second;
}

bool holds_units(const world& w, const order_state& o) {
  for (const auto& item : o.items)
    if (const hold* h = find_hold(w, item.product_id, o.order_id);
        h && h->state == hold_state::held)
      return true;
  return false;
}

void forget_if_settled(world& w, const std::string& order_id) {
  auto it = w.orders.find(order_id);
  if (it != w.orders.end() && is_terminal(it->second.status) && !holds_units(w, it->second))
    w.orders.erase(it);
}

void apply_order_event(world& w, const event& e, timestamp_ms at) {
  const std::string& id = entity_id(e);
  auto it = w.orders.find(id);
  if (it == w.orders.end()) {
    // With forgetting on, a later event for an order we dropped must not resurrect it.
    if (w.forget_settled_orders && !std::holds_alternative<OrderPlaced>(e))
      return;
    it = w.orders.emplace(id, order_state{}).first;
  }
  order_state& o = it->second;
  order_status before = o.status;
  apply(o, e, at);
  if (o.status != before) {
    if (before != order_status::none && --w.order_counts[before] == 0)
      w.order_counts.erase(before);
    ++w.order_counts[o.status];
  }
  if (w.forget_settled_orders)
    forget_if_settled(w, id);
}

std::string product_label(const std::string& id) {
  return "product '" + id + "': ";
}

std::string order_label(const std::string& id) {
  return "order '" + id + "': ";
}

void check_product(const product_state& p, std::vector<std::string>& out) {
  const std::string at = product_label(p.product_id);
  if (p.available() + p.reserved + p.sold != p.stock)
    out.push_back(at + "available + reserved + sold != stock");
  if (p.stock < 0 || p.available() < 0 || p.reserved < 0 || p.sold < 0)
    out.push_back(at + "negative count (stock " + std::to_string(p.stock) + ", available "
                  + std::to_string(p.available()) + ", reserved " + std::to_string(p.reserved)
                  + ", sold " + std::to_string(p.sold) + ")");
  std::int64_t held = 0, sold = 0;
  std::map<std::string, std::int64_t> units;
  for (const auto& [order_id, h] : p.holds) {
    if (h.quantity < 0)
      out.push_back(at + "negative hold for order '" + order_id + "'");
    if (h.state == hold_state::held)
      held += h.quantity;
    if (h.state == hold_state::sold)
      sold += h.quantity;
    if (h.state != hold_state::released && h.quantity != 0)
      units[h.user_id] += h.quantity;
  }
  if (held != p.reserved)
    out.push_back(at + "reserved " + std::to_string(p.reserved) + " != held units "
                  + std::to_string(held));
  if (sold != p.sold)
    out.push_back(at + "sold " + std::to_string(p.sold) + " != sold units " + std::to_string(sold));
  if (units != p.user_units)
    out.push_back(at + "per-user units disagree with the holds");
  for (const auto& [user, n] : p.user_units) {
    if (n < 0)
      out.push_back(at + "user '" + user + "' holds a negative count");
    if (p.per_user_limit > 0 && n > p.per_user_limit)
      out.push_back(at + "user '" + user + "' holds " + std::to_string(n)
                    + " units, over the limit " + std::to_string(p.per_user_limit));
  }
}

void check_order(const world& w, const order_state& o, std::vector<std::string>& out) {
  const std::string at = order_label(o.order_id);
  if (o.status == order_status::none)
    out.push_back(at + "has events but no OrderPlaced");
  if (o.status != order_status::reserved && o.status != order_status::paid)
    return;
  for (const auto& line : o.lines) {
    if (!w.products.count(line.product_id))
      continue; // in another log (a cluster's cart across partitions): checked there
    const hold* h = find_hold(w, line.product_id, o.order_id);
    if (!h) {
      out.push_back(at + "is " + to_string(o.status) + " but product '" + line.product_id
                    + "' holds nothing for it");
      continue;
    }
    if (h->quantity != line.quantity)
      out.push_back(at + "quantity of '" + line.product_id + "' disagrees with its hold");
    bool ok = o.status == order_status::reserved ? h->state == hold_state::held
                                                 : h->state != hold_state::released;
    if (!ok)
      out.push_back(at + "is " + to_string(o.status) + " but its hold on '" + line.product_id
                    + "' is " + to_string(h->state));
  }
}

} // namespace

namespace {

/// env.stream == stream_of(e), without building the string (this runs once per replayed event).
bool stream_matches(const std::string& stream, const event& e) {
  auto ref = parse_stream(stream);
  auto kind = is_product_event(e) ? stream_ref::kind::product : stream_ref::kind::order;
  return ref && ref->what == kind && ref->id == entity_id(e);
}

} // namespace

void apply(world& w, const envelope& env) {
  apply(w, env, decode(env));
}

void apply(world& w, const envelope& env, decode_result decoded) {
  ++w.events;
  if (env.seq > w.last_seq)
    w.last_seq = env.seq;
  if (!decoded.value) {
    w.decode_errors.push_back(std::move(decoded.error));
    return;
  }
  const event& e = *decoded.value;
  if (!stream_matches(env.stream, e)) {
    w.decode_errors.push_back("seq " + std::to_string(env.seq) + ": " + env.type + " for "
                              + stream_of(e) + " stored in stream " + env.stream);
    return;
  }
  if (!is_product_event(e)) {
    apply_order_event(w, e, env.recorded_at);
    return;
  }
  apply(w.products[entity_id(e)], e);
  // A sale or release may settle the last hold of a finished order.
  if (w.forget_settled_orders) {
    if (auto* s = std::get_if<StockSold>(&e))
      forget_if_settled(w, s->order_id);
    else if (auto* r = std::get_if<StockReleased>(&e))
      forget_if_settled(w, r->order_id);
  }
}

std::vector<std::string> check_invariants(const world& w) {
  std::vector<std::string> out;
  for (const auto& [id, p] : w.products)
    check_product(p, out);
  for (const auto& [id, o] : w.orders)
    check_order(w, o, out);
  for (const auto& [product_id, p] : w.products) {
    for (const auto& [order_id, h] : p.holds) {
      auto o = w.orders.find(order_id);
      if (o == w.orders.end())
        continue; // held: an orphan hold, pending work (orders are forgotten only once settled)
      if (h.state == hold_state::sold && o->second.status != order_status::paid)
        out.push_back(product_label(product_id) + "sold units to order '" + order_id
                      + "', which is " + to_string(o->second.status));
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> orphan_holds(const world& w) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [product_id, p] : w.products)
    for (const auto& [order_id, h] : p.holds)
      if (h.state == hold_state::held && w.orders.find(order_id) == w.orders.end())
        out.emplace_back(product_id, order_id);
  return out;
}

std::vector<pending_step> pending_work(const world& w) {
  std::vector<pending_step> out;
  for (const auto& [product_id, order_id] : orphan_holds(w))
    out.push_back({pending_step::release, order_id, product_id, release_reason::compensation});
  for (const auto& [id, o] : w.orders) {
    if (o.status == order_status::pending) {
      out.push_back({pending_step::resume_placement, id, "", release_reason::compensation});
      continue;
    }
    if (!is_terminal(o.status))
      continue;
    pending_step::kind action = pending_step::release;
    release_reason reason = release_reason::compensation;
    switch (o.status) {
    case order_status::paid:
      action = pending_step::sell;
      break;
    case order_status::expired:
      reason = release_reason::expired;
      break;
    case order_status::cancelled:
      reason = o.payment_id ? release_reason::payment_failed : release_reason::cancelled;
      break;
    default:
      break;
    }
    for (const auto& item : o.items)
      if (const hold* h = find_hold(w, item.product_id, id); h && h->state == hold_state::held)
        out.push_back({action, id, item.product_id, reason});
  }
  std::sort(out.begin(), out.end(), [](const pending_step& a, const pending_step& b) {
    return std::tie(a.order_id, a.product_id) < std::tie(b.order_id, b.product_id);
  });
  return out;
}

} // namespace flashsale
