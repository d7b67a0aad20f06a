#include "events/order.hpp"

#include <set>

namespace flashsale {

namespace {

constexpr order_status all_statuses[] = {
    order_status::none,    order_status::pending,   order_status::reserved, order_status::paid,
    order_status::expired, order_status::cancelled, order_status::rejected};

decision not_found(const order_state&) {
  return decision::reject(errc::not_found, "order does not exist");
}

decision wrong_state(const order_state& s, const char* what) {
  return decision::reject(errc::invalid_state, std::string("cannot ") + what + " an order that is "
                                                   + to_string(s.status));
}

bool set_status(order_state& s, order_status next) {
  if (is_terminal(s.status))
    return false; // invariant: terminal states never change
  s.status = next;
  return true;
}

void remember_payment(order_state& s, const std::string& event_id) {
  if (!event_id.empty())
    s.payment_events.insert(event_id);
}

} // namespace

const char* to_string(order_status s) {
  switch (s) {
  case order_status::none:
    return "none";
  case order_status::pending:
    return "pending";
  case order_status::reserved:
    return "reserved";
  case order_status::paid:
    return "paid";
  case order_status::expired:
    return "expired";
  case order_status::cancelled:
    return "cancelled";
  case order_status::rejected:
    return "rejected";
  }
  return "none";
}

std::optional<order_status> parse_order_status(std::string_view s) {
  for (auto st : all_statuses)
    if (s == to_string(st))
      return st;
  return std::nullopt;
}

bool is_terminal(order_status s) {
  return s == order_status::paid || s == order_status::expired || s == order_status::cancelled
         || s == order_status::rejected;
}

bool is_duplicate_payment(const order_state& s, const std::string& event_id) {
  return !event_id.empty() && s.payment_events.count(event_id) > 0;
}

decision judge_retry(const std::string& first_hash, const place_order& c) {
  if (c.request_hash == first_hash)
    return decision::already_done();
  return decision::reject(errc::idempotency_key_reused,
                          "Idempotency-Key '" + c.idempotency_key
                              + "' was already used with a different request");
}

decision open_order(const order_state& s, const place_order& c, const confirm_reservation& confirm,
                    timestamp_ms now) {
  decision out;
  order_state placed = s;
  if (s.status == order_status::none) {
    out = decide(s, c, now);
    if (!out.ok() || out.duplicate)
      return out;
    apply(placed, out.events.front(), now);
  }
  auto reserved = decide(placed, confirm, now);
  if (!reserved.ok())
    return reserved;
  out.events.push_back(std::move(reserved.events.front()));
  return out;
}

std::optional<rejection> past_deadline(const place_order& c, timestamp_ms now) {
  if (c.deadline == 0 || now <= c.deadline)
    return std::nullopt;
  return rejection{errc::unavailable, "the order could not be placed before its deadline; retry"};
}

decision decide(const order_state& s, const place_order& c, timestamp_ms now) {
  if (s.status != order_status::none)
    return judge_retry(s.request_hash, c);
  if (auto late = past_deadline(c, now))
    return decision::reject(late->code, late->message);
  if (c.order_id.empty() || c.user_id.empty())
    return decision::reject(errc::invalid_request, "order_id and user_id must not be empty");
  if (c.items.empty() || c.items.size() > max_order_items)
    return decision::reject(errc::invalid_request, "items must hold 1 to 50 entries");
  std::set<std::string_view> seen;
  for (const auto& item : c.items) {
    if (item.product_id.empty())
      return decision::reject(errc::invalid_request, "items[].product_id must not be empty");
    if (item.quantity < 1 || item.quantity > max_line_quantity)
      return decision::reject(errc::invalid_request, "items[].quantity must be 1 to 1000");
    if (!seen.insert(item.product_id).second)
      return decision::reject(errc::invalid_request,
                              "product '" + item.product_id + "' appears more than once");
  }
  return decision::emit(
      OrderPlaced{c.order_id, c.user_id, c.items, c.idempotency_key, c.request_hash, now});
}

decision decide(const order_state& s, const confirm_reservation& c, timestamp_ms) {
  if (s.status == order_status::none)
    return not_found(s);
  if (s.status != order_status::pending)
    return wrong_state(s, "confirm the reservation of");
  // The lines must be exactly the items: the saga may not reserve more, less or other.
  if (c.lines.size() != s.items.size())
    return decision::reject(errc::invalid_request, "reserved lines do not match the items");
  std::int64_t total = 0;
  for (const auto& line : c.lines) {
    bool matched = false;
    for (const auto& item : s.items)
      matched = matched || (item.product_id == line.product_id && item.quantity == line.quantity);
    if (!matched || line.unit_price_cents < 0)
      return decision::reject(errc::invalid_request,
                              "reserved line '" + line.product_id + "' does not match the items");
    total += line.quantity * line.unit_price_cents;
  }
  return decision::emit(OrderReserved{s.order_id, c.expires_at, total, c.lines});
}

decision decide(const order_state& s, const reject_order& c, timestamp_ms) {
  if (s.status == order_status::none)
    return not_found(s);
  if (s.status != order_status::pending)
    return wrong_state(s, "reject");
  return decision::emit(OrderRejected{s.order_id, code_string(c.code), c.message});
}

decision decide(const order_state& s, const payment_succeeded& c, timestamp_ms) {
  if (s.status == order_status::none)
    return not_found(s);
  if (is_duplicate_payment(s, c.event_id))
    return decision::already_done();
  switch (s.status) {
  case order_status::reserved:
    if (c.amount_cents && *c.amount_cents != s.total_cents)
      return decision::reject(errc::amount_mismatch, "amount " + std::to_string(*c.amount_cents)
                                                         + " does not match the order total "
                                                         + std::to_string(s.total_cents));
    return decision::emit(OrderPaid{s.order_id, c.payment_id, c.event_id, s.total_cents});
  case order_status::pending:
    // Not yet payable and nothing was taken for it: the provider will retry.
    return wrong_state(s, "pay");
  default: {
    // The money moved but the order can no longer take it: record it for a refund.
    auto d = wrong_state(s, "pay");
    d.events.push_back(PaymentRejected{s.order_id, c.payment_id, c.event_id,
                                       c.amount_cents.value_or(s.total_cents),
                                       std::string("order is ") + to_string(s.status)});
    return d;
  }
  }
}

decision decide(const order_state& s, const payment_failed& c, timestamp_ms) {
  if (s.status == order_status::none)
    return not_found(s);
  if (is_duplicate_payment(s, c.event_id))
    return decision::already_done();
  if (s.status != order_status::reserved)
    return wrong_state(s, "fail the payment of");
  return decision::emit(
      OrderCancelled{s.order_id, cancel_reason_payment_failed, c.payment_id, c.event_id});
}

decision decide(const order_state& s, const cancel_order& c, timestamp_ms) {
  if (s.status == order_status::none)
    return not_found(s);
  if (c.user_id != s.user_id)
    return decision::reject(errc::forbidden, "the order belongs to another user");
  if (s.status != order_status::reserved)
    return wrong_state(s, "cancel");
  return decision::emit(OrderCancelled{s.order_id, cancel_reason_user, "", ""});
}

decision decide(const order_state& s, const expire_order&, timestamp_ms now) {
  if (s.status == order_status::none)
    return not_found(s);
  if (s.status != order_status::reserved)
    return wrong_state(s, "expire");
  if (!s.expires_at || now < *s.expires_at)
    return decision::reject(errc::invalid_state, "the reservation is not yet due to expire");
  return decision::emit(OrderExpired{s.order_id});
}

order_fold fold_order_stream(const std::vector<envelope>& events) {
  order_fold out;
  for (const auto& env : events) {
    auto decoded = decode(env);
    if (!decoded.value) {
      out.undecodable = "seq " + std::to_string(env.seq) + ": " + decoded.error;
      break;
    }
    apply(out.order, *decoded.value, env.recorded_at);
  }
  return out;
}

void apply(order_state& s, const event& e, timestamp_ms at) {
  if (is_product_event(e))
    return;
  ++s.version;
  bool touches = true; // false for events that leave the order as it was (PaymentRejected)
  if (auto* p = std::get_if<OrderPlaced>(&e)) {
    at = p->placed_at;
    if (s.status == order_status::none) {
      s.order_id = p->order_id;
      s.user_id = p->user_id;
      s.items = p->items;
      s.idempotency_key = p->idempotency_key;
      s.request_hash = p->request_hash;
      s.created_at = p->placed_at;
      s.status = order_status::pending;
    }
  } else if (auto* r = std::get_if<OrderReserved>(&e)) {
    if (set_status(s, order_status::reserved)) {
      s.expires_at = r->expires_at;
      s.total_cents = r->total_cents;
      s.lines = r->lines;
    }
  } else if (auto* rej = std::get_if<OrderRejected>(&e)) {
    if (set_status(s, order_status::rejected))
      s.rejection = order_rejection{rej->code, rej->message};
  } else if (auto* paid = std::get_if<OrderPaid>(&e)) {
    remember_payment(s, paid->event_id);
    if (set_status(s, order_status::paid))
      s.payment_id = paid->payment_id;
  } else if (auto* c = std::get_if<OrderCancelled>(&e)) {
    remember_payment(s, c->event_id);
    if (set_status(s, order_status::cancelled) && !c->payment_id.empty())
      s.payment_id = c->payment_id;
  } else if (std::get_if<OrderExpired>(&e)) {
    set_status(s, order_status::expired);
  } else if (auto* pr = std::get_if<PaymentRejected>(&e)) {
    remember_payment(s, pr->event_id);
    touches = false;
  }
  if (touches)
    s.updated_at = at;
  s.history.push_back(history_entry{type_name(e), at});
}

} // namespace flashsale
