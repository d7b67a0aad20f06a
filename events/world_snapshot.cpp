#include "events/world_snapshot.hpp"

#include <nlohmann/json.hpp>

namespace flashsale {

namespace {

using json = nlohmann::json;

json optional_time(const std::optional<timestamp_ms>& t) {
  return t ? json(*t) : json(nullptr);
}

std::optional<timestamp_ms> read_optional_time(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null())
    return std::nullopt;
  return it->get<timestamp_ms>();
}

// Holds and per-user counts are most of a large snapshot (one per order and buyer ever), so
// format 2 packs each map into one string instead of a JSON object of arrays: decoding 200k
// holds as JSON values cost ~2 s of a partition's take-over. A string is `<length>:<bytes>`
// (any bytes), an integer its decimal digits and ',', a hold's state one letter (h, s, r).
// Maps are written in key order, so decoding appends at the end of each map.

void pack_string(std::string& out, std::string_view s) {
  out += std::to_string(s.size());
  out += ':';
  out += s;
}

void pack_int(std::string& out, std::int64_t n) {
  out += std::to_string(n);
  out += ',';
}

char pack_state(hold_state s) {
  return s == hold_state::held ? 'h' : s == hold_state::sold ? 's' : 'r';
}

[[noreturn]] void malformed(const char* what) {
  throw json::other_error::create(501, std::string("malformed packed ") + what, nullptr);
}

/// Reads a packed map back, front to back; any malformation throws (the caller's catch).
class unpacker {
public:
  explicit unpacker(std::string_view text) : text_(text) {}
  bool done() const { return at_ == text_.size(); }

  std::int64_t integer(char end) {
    bool negative = at_ < text_.size() && text_[at_] == '-';
    at_ += negative ? 1 : 0;
    std::int64_t n = 0;
    std::size_t digits = 0;
    for (; at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9'; ++at_, ++digits)
      n = n * 10 + (text_[at_] - '0');
    if (digits == 0 || digits > 18 || at_ >= text_.size() || text_[at_] != end)
      malformed("integer");
    ++at_;
    return negative ? -n : n;
  }

  std::string string() {
    auto length = static_cast<std::size_t>(integer(':'));
    if (length > text_.size() - at_)
      malformed("string");
    std::string out(text_.substr(at_, length));
    at_ += length;
    return out;
  }

  hold_state state() {
    if (at_ >= text_.size())
      malformed("hold state");
    switch (text_[at_++]) {
    case 'h':
      return hold_state::held;
    case 's':
      return hold_state::sold;
    case 'r':
      return hold_state::released;
    default:
      malformed("hold state");
    }
  }

private:
  std::string_view text_;
  std::size_t at_ = 0;
};

std::string pack_holds(const std::map<std::string, hold>& holds) {
  std::string out;
  for (auto& [order, h] : holds) {
    pack_string(out, order);
    pack_string(out, h.user_id);
    pack_int(out, h.quantity);
    pack_int(out, h.unit_price_cents);
    out += pack_state(h.state);
  }
  return out;
}

std::string pack_user_units(const std::map<std::string, std::int64_t>& units) {
  std::string out;
  for (auto& [user, n] : units) {
    pack_string(out, user);
    pack_int(out, n);
  }
  return out;
}

void unpack_holds(std::string_view text, std::map<std::string, hold>& holds) {
  for (unpacker in(text); !in.done();) {
    auto order = in.string();
    hold h;
    h.user_id = in.string();
    h.quantity = in.integer(',');
    h.unit_price_cents = in.integer(',');
    h.state = in.state();
    holds.emplace_hint(holds.end(), std::move(order), std::move(h));
  }
}

void unpack_user_units(std::string_view text, std::map<std::string, std::int64_t>& units) {
  for (unpacker in(text); !in.done();) {
    auto user = in.string();
    units.emplace_hint(units.end(), std::move(user), in.integer(','));
  }
}

// A product's definition is written field by field from the product field list
// (events/product_fields.hpp), times as epoch milliseconds; a field a snapshot lacks (written
// before the field existed) reads as a log without it does.
template <class F>
void put_field(json& j, const product_definition& d, const F& f) {
  j[f.key] = d.*f.member;
}
void put_field(json& j, const product_definition& d, const product_field::optional_time& f) {
  j[f.key] = optional_time(d.*f.member);
}
void put_field(json&, const product_definition&, const product_field::count&) {}

void get_field(const json& j, product_definition& d, const product_field::id& f) {
  j.at(f.key).get_to(d.*f.member);
}
void get_field(const json& j, product_definition& d, const product_field::text& f) {
  if (f.fallback)
    d.*f.member = j.value(f.key, std::string(f.fallback));
  else
    j.at(f.key).get_to(d.*f.member);
}
void get_field(const json& j, product_definition& d, const product_field::integer& f) {
  if (f.required)
    j.at(f.key).get_to(d.*f.member);
  else
    d.*f.member = j.value(f.key, f.fallback);
}
void get_field(const json& j, product_definition& d, const product_field::optional_time& f) {
  d.*f.member = read_optional_time(j, f.key);
}
void get_field(const json&, product_definition&, const product_field::count&) {}

json encode_product(const product_state& p) {
  json j{{"exists", p.exists},
         {"reserved", p.reserved},
         {"sold", p.sold},
         {"version", p.version},
         {"holds", pack_holds(p.holds)},
         {"user_units", pack_user_units(p.user_units)}};
  product_field::each([&](const auto& f) { put_field(j, p, f); });
  return j;
}

hold_state parse_hold_state(const std::string& s) {
  if (s == "held")
    return hold_state::held;
  if (s == "sold")
    return hold_state::sold;
  if (s == "released")
    return hold_state::released;
  throw json::other_error::create(501, "unknown hold state '" + s + "'", nullptr);
}

product_state decode_product(const json& j) {
  product_state p;
  j.at("exists").get_to(p.exists);
  product_field::each([&](const auto& f) { get_field(j, p, f); });
  j.at("reserved").get_to(p.reserved);
  j.at("sold").get_to(p.sold);
  j.at("version").get_to(p.version);
  auto& holds = j.at("holds");
  if (holds.is_string()) { // format 2
    unpack_holds(holds.get_ref<const std::string&>(), p.holds);
    unpack_user_units(j.at("user_units").get_ref<const std::string&>(), p.user_units);
    return p;
  }
  for (auto& [order, h] : holds.items()) // format 1
    p.holds.emplace(order, hold{h.at(0).get<std::string>(), h.at(1).get<std::int64_t>(),
                                h.at(2).get<std::int64_t>(),
                                parse_hold_state(h.at(3).get<std::string>())});
  j.at("user_units").get_to(p.user_units);
  return p;
}

json encode_order(const order_state& o) {
  json history = json::array();
  for (auto& h : o.history)
    history.push_back(json::array({h.type, h.at}));
  json out{{"order_id", o.order_id},
           {"user_id", o.user_id},
           {"status", to_string(o.status)},
           {"items", o.items},
           {"lines", o.lines},
           {"total_cents", o.total_cents},
           {"idempotency_key", o.idempotency_key},
           {"request_hash", o.request_hash},
           {"created_at", o.created_at},
           {"updated_at", o.updated_at},
           {"expires_at", optional_time(o.expires_at)},
           {"payment_id", o.payment_id ? json(*o.payment_id) : json(nullptr)},
           {"payment_events", o.payment_events},
           {"history", std::move(history)},
           {"version", o.version}};
  if (o.rejection)
    out["rejection"] = json{{"code", o.rejection->code}, {"message", o.rejection->message}};
  return out;
}

order_state decode_order(const json& j) {
  order_state o;
  j.at("order_id").get_to(o.order_id);
  j.at("user_id").get_to(o.user_id);
  auto status = parse_order_status(j.at("status").get<std::string>());
  if (!status)
    throw json::other_error::create(501, "unknown order status", &j);
  o.status = *status;
  j.at("items").get_to(o.items);
  j.at("lines").get_to(o.lines);
  j.at("total_cents").get_to(o.total_cents);
  j.at("idempotency_key").get_to(o.idempotency_key);
  j.at("request_hash").get_to(o.request_hash);
  j.at("created_at").get_to(o.created_at);
  j.at("updated_at").get_to(o.updated_at);
  o.expires_at = read_optional_time(j, "expires_at");
  if (auto& p = j.at("payment_id"); !p.is_null())
    o.payment_id = p.get<std::string>();
  j.at("payment_events").get_to(o.payment_events);
  for (auto& h : j.at("history"))
    o.history.push_back(history_entry{h.at(0).get<std::string>(), h.at(1).get<timestamp_ms>()});
  j.at("version").get_to(o.version);
  if (auto it = j.find("rejection"); it != j.end())
    o.rejection =
        order_rejection{it->at("code").get<std::string>(), it->at("message").get<std::string>()};
  return o;
}

} // namespace

std::string encode_world(const world& w) {
  json counts = json::object();
  for (auto& [status, n] : w.order_counts)
    counts[to_string(status)] = n;
  json products = json::array();
  for (auto& [id, p] : w.products)
    products.push_back(encode_product(p));
  json orders = json::array();
  for (auto& [id, o] : w.orders)
    orders.push_back(encode_order(o));
  return json{{"format", world_snapshot_format},
              {"last_seq", w.last_seq},
              {"events", w.events},
              {"forget_settled_orders", w.forget_settled_orders},
              {"order_counts", std::move(counts)},
              {"products", std::move(products)},
              {"orders", std::move(orders)}}
      .dump();
}

std::int64_t snapshot_entries(const world& w) {
  auto n = static_cast<std::int64_t>(w.orders.size());
  for (const auto& [id, p] : w.products)
    n += static_cast<std::int64_t>(p.holds.size() + p.user_units.size());
  return n;
}

std::optional<world> decode_world(std::string_view text, std::string& error) {
  try {
    auto j = json::parse(text);
    auto format = j.at("format").get<int>();
    if (format != world_snapshot_format && format != 1) { // format 1: holds as JSON objects
      error = "snapshot format " + j.at("format").dump() + " is not "
              + std::to_string(world_snapshot_format);
      return std::nullopt;
    }
    world w;
    j.at("last_seq").get_to(w.last_seq);
    j.at("events").get_to(w.events);
    j.at("forget_settled_orders").get_to(w.forget_settled_orders);
    for (auto& [status, n] : j.at("order_counts").items()) {
      auto s = parse_order_status(status);
      if (!s)
        throw json::other_error::create(501, "unknown order status '" + status + "'", &j);
      w.order_counts[*s] = n.get<std::int64_t>();
    }
    for (auto& p : j.at("products")) {
      auto product = decode_product(p);
      auto id = product.product_id;
      w.products.emplace(std::move(id), std::move(product));
    }
    for (auto& o : j.at("orders")) {
      auto order = decode_order(o);
      auto id = order.order_id;
      w.orders.emplace(std::move(id), std::move(order));
    }
    return w;
  } catch (const json::exception& e) {
    error = std::string("malformed snapshot: ") + e.what();
    return std::nullopt;
  }
}

} // namespace flashsale
