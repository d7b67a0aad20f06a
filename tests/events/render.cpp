#include "render.hpp"

#include <sstream>

namespace flashsale::test {

std::string render(const decision& d) {
  std::string out;
  for (const auto& e : d.events)
    out += (out.empty() ? "" : ",") + std::string(type_name(e));
  if (d.rejected)
    out += (out.empty() ? "" : "+") + std::string("rejected:") + code_string(d.rejected->code);
  if (d.duplicate)
    out += (out.empty() ? "" : "+") + std::string("duplicate");
  return out.empty() ? "none" : out;
}

std::string render(const product_state& p) {
  std::ostringstream os;
  os << p.product_id << " v" << p.version << (p.exists ? "" : " (undefined)") << " '" << p.name
     << "' stock=" << p.stock << " avail=" << p.available() << " res=" << p.reserved
     << " sold=" << p.sold << " limit=" << p.per_user_limit << " price=" << p.price_cents
     << " hold_s=" << p.hold_seconds << " starts=" << (p.sale_starts_at ? *p.sale_starts_at : -1)
     << " holds[";
  for (const auto& [order, h] : p.holds)
    os << ' ' << order << ':' << h.user_id << ':' << h.quantity << '@' << h.unit_price_cents << ':'
       << to_string(h.state);
  os << " ] users[";
  for (const auto& [user, n] : p.user_units)
    os << ' ' << user << ':' << n;
  os << " ]";
  return os.str();
}

std::string render(const order_state& o) {
  std::ostringstream os;
  os << o.order_id << " v" << o.version << ' ' << to_string(o.status) << " user=" << o.user_id
     << " items[";
  for (const auto& i : o.items)
    os << ' ' << i.product_id << 'x' << i.quantity;
  os << " ] lines[";
  for (const auto& l : o.lines)
    os << ' ' << l.product_id << 'x' << l.quantity << '@' << l.unit_price_cents;
  os << " ] total=" << o.total_cents << " key=" << o.idempotency_key << " hash=" << o.request_hash
     << " created=" << o.created_at << " updated=" << o.updated_at
     << " expires=" << (o.expires_at ? std::to_string(*o.expires_at) : "-")
     << " payment=" << o.payment_id.value_or("-") << " events[";
  for (const auto& e : o.payment_events)
    os << ' ' << e;
  os << " ] history[";
  for (const auto& h : o.history)
    os << ' ' << h.type << '@' << h.at;
  os << " ]";
  if (o.rejection)
    os << " rejection=" << o.rejection->code << ':' << o.rejection->message;
  return os.str();
}

std::string render(const world& w) {
  std::ostringstream os;
  for (const auto& [id, p] : w.products)
    os << render(p) << '\n';
  for (const auto& [id, o] : w.orders)
    os << render(o) << '\n';
  os << "counts";
  for (const auto& [status, n] : w.order_counts)
    os << ' ' << to_string(status) << '=' << n;
  return os.str();
}

} // namespace flashsale::test
