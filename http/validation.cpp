#include "http/validation.hpp"

#include <limits>
#include <set>
#include <type_traits>
#include <utility>

#include <nlohmann/json.hpp>

#include "events/time.hpp"

namespace flashsale {

namespace {

using json = nlohmann::json;

rejection bad(std::string message) {
  return {errc::invalid_request, std::move(message)};
}

/// A field name echoed from untrusted input: shortened so a hostile key cannot bloat the
/// answer (error_body replaces any UTF-8 sequence the cut breaks).
std::string quoted_name(std::string_view name) {
  constexpr std::size_t keep = 64;
  return "'" + std::string(name.substr(0, keep)) + (name.size() > keep ? "...'" : "'");
}

std::variant<json, rejection> parse_object(std::string_view body) {
  // allow_exceptions=false: malformed text is a value, not a throw. The parser is iterative
  // (no recursion on nesting depth) and the body is bounded by http.max_body_bytes.
  json j = json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_discarded())
    return bad("the body is not valid JSON");
  if (!j.is_object())
    return bad("the body must be a JSON object");
  return j;
}

/// Strict bodies: a field we do not know is a client bug worth reporting, not ignoring.
std::optional<rejection> reject_unknown(const json& object,
                                        std::initializer_list<const char*> known,
                                        const std::string& prefix) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    bool found = false;
    for (auto* k : known)
      found = found || it.key() == k;
    if (!found)
      return bad(prefix + quoted_name(it.key()) + " is not a known field");
  }
  return std::nullopt;
}

const json* find(const json& object, const char* field) {
  auto it = object.find(field);
  return it == object.end() ? nullptr : &*it;
}

/// Optional fields: absent and null mean the same (the default).
const json* find_present(const json& object, const char* field) {
  auto* v = find(object, field);
  return v && !v->is_null() ? v : nullptr;
}

std::optional<std::int64_t> as_int(const json& v) {
  if (v.is_number_unsigned()) {
    auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return std::nullopt;
    return static_cast<std::int64_t>(u);
  }
  if (v.is_number_integer())
    return v.get<std::int64_t>();
  return std::nullopt; // floats (1.5, 1e3), booleans, strings: not integers
}

/// An integer field in [lo, hi]; the message names the field and the range.
std::variant<std::int64_t, rejection> int_field(const json& v, const std::string& name,
                                                std::int64_t lo, std::int64_t hi) {
  auto i = as_int(v);
  if (!i || *i < lo || *i > hi)
    return bad(
        name + " must be an integer " + std::to_string(lo) + ".."
        + (hi == std::numeric_limits<std::int64_t>::max() ? std::string() : std::to_string(hi)));
  return *i;
}

std::variant<std::string, rejection> id_field(const json& object, const char* field,
                                              const std::string& name) {
  auto* v = find(object, field);
  if (!v || v->is_null())
    return bad(name + " is required");
  if (!v->is_string())
    return bad(name + " must be a string");
  auto s = v->get<std::string>();
  if (auto problem = check_id(name, s))
    return *problem;
  return s;
}

template <class T>
bool failed(const std::variant<T, rejection>& v, rejection& out) {
  if (auto r = std::get_if<rejection>(&v)) {
    out = *r;
    return true;
  }
  return false;
}

// One reader per kind of product field (events/product_fields.hpp): the type check here, the
// range by the field's own rule, so the edge and decide say the same. Absent or null keeps the
// default already in `d` (0, null, or orders.hold_seconds).
std::optional<rejection> read_field(const json&, define_product&, const product_field::id&) {
  return std::nullopt; // from the path, checked before
}
std::optional<rejection> read_field(const json&, define_product&, const product_field::count&) {
  return std::nullopt; // the view's alone; in a body, an unknown field
}
std::optional<rejection> read_field(const json& j, define_product& d,
                                    const product_field::text& f) {
  auto* v = find_present(j, f.key);
  if (!v)
    return f.required ? std::optional(bad(std::string(f.key) + " is required")) : std::nullopt;
  if (!v->is_string())
    return bad(std::string(f.key) + " must be a string");
  d.*f.member = v->get<std::string>();
  if (auto p = product_field::problem(f, d.*f.member))
    return bad(*p);
  return std::nullopt;
}
std::optional<rejection> read_field(const json& j, define_product& d,
                                    const product_field::integer& f) {
  auto* v = find_present(j, f.key);
  if (!v)
    return f.required ? std::optional(bad(std::string(f.key) + " is required")) : std::nullopt;
  auto i = as_int(*v);
  if (!i)
    return bad(product_field::rule(f)); // floats, booleans, strings: not integers
  if (auto p = product_field::problem(f, *i))
    return bad(*p);
  d.*f.member = *i;
  return std::nullopt;
}
std::optional<rejection> read_field(const json& j, define_product& d,
                                    const product_field::optional_time& f) {
  auto* v = find_present(j, f.key);
  if (!v)
    return std::nullopt;
  auto t = v->is_string() ? parse_rfc3339(v->get_ref<const std::string&>()) : std::nullopt;
  if (!t)
    return bad(std::string(f.key)
               + " must be an RFC 3339 timestamp (e.g. 2026-11-21T10:00:00.000Z) or null");
  d.*f.member = *t;
  return std::nullopt;
}

/// A key of the body that names no settable field of the list (ids and counts are not).
std::optional<rejection> reject_unknown_product_field(const json& j) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool known = false;
    product_field::each([&](const auto& f) {
      using kind = std::decay_t<decltype(f)>;
      if constexpr (!std::is_same_v<
                        kind, product_field::id> && !std::is_same_v<kind, product_field::count>)
        known = known || it.key() == f.key;
    });
    if (!known)
      return bad(quoted_name(it.key()) + " is not a known field");
  }
  return std::nullopt;
}

parsed<define_product> define_from(std::string_view product_id, const json& j,
                                   std::int64_t default_hold_seconds) {
  if (auto r = check_id("product_id", product_id))
    return *r;
  if (auto r = reject_unknown_product_field(j))
    return *r;
  define_product d;
  d.product_id = std::string(product_id);
  d.hold_seconds = default_hold_seconds;
  std::optional<rejection> problem;
  product_field::each([&](const auto& f) {
    if (!problem)
      problem = read_field(j, d, f);
  });
  if (problem)
    return *problem;
  return d;
}

std::variant<order_line, rejection> line_from(const json& object, const std::string& prefix) {
  rejection problem;
  auto product = id_field(object, "product_id", prefix + "product_id");
  if (failed(product, problem))
    return problem;
  auto* q = find(object, "quantity");
  if (!q || q->is_null())
    return bad(prefix + "quantity is required");
  auto quantity = int_field(*q, prefix + "quantity", 1, max_line_quantity);
  if (failed(quantity, problem))
    return problem;
  order_line line;
  line.product_id = std::get<std::string>(product);
  line.quantity = std::get<std::int64_t>(quantity);
  return line;
}

parsed<order_request> order_from(const json& j, const std::optional<std::string>& header_key) {
  rejection problem;
  order_request out;
  if (header_key) {
    if (auto r = check_id("Idempotency-Key", *header_key))
      return *r;
    out.idempotency_key = *header_key;
  }
  auto user = id_field(j, "user_id", "user_id");
  if (failed(user, problem))
    return problem;
  out.user_id = std::get<std::string>(user);
  if (auto* v = find_present(j, "request_id")) {
    if (!v->is_string())
      return bad("request_id must be a string");
    auto key = v->get<std::string>();
    if (auto r = check_id("request_id", key))
      return *r;
    if (header_key && *header_key != key)
      return bad("Idempotency-Key and request_id differ; send one, or the same value in both");
    out.idempotency_key = key;
  }
  bool has_items = find(j, "items") != nullptr;
  bool has_shorthand = find(j, "product_id") != nullptr || find(j, "quantity") != nullptr;
  if (has_items && has_shorthand)
    return bad("send either items or product_id and quantity, not both");
  if (has_shorthand) {
    if (auto r = reject_unknown(j, {"user_id", "request_id", "product_id", "quantity"}, ""))
      return *r;
    auto line = line_from(j, "");
    if (failed(line, problem))
      return problem;
    out.items.push_back(std::get<order_line>(std::move(line)));
    return out;
  }
  if (auto r = reject_unknown(j, {"user_id", "request_id", "items"}, ""))
    return *r;
  auto* items = find(j, "items");
  if (!items || items->is_null())
    return bad("items is required");
  if (!items->is_array() || items->empty() || items->size() > max_order_items)
    return bad("items must be an array of 1..50 items");
  std::set<std::string> seen;
  for (std::size_t i = 0; i < items->size(); ++i) {
    auto prefix = "items[" + std::to_string(i) + "].";
    const auto& item = (*items)[i];
    if (!item.is_object())
      return bad("items[" + std::to_string(i) + "] must be an object");
    if (auto r = reject_unknown(item, {"product_id", "quantity"}, prefix))
      return *r;
    auto line = line_from(item, prefix);
    if (failed(line, problem))
      return problem;
    auto& l = std::get<order_line>(line);
    if (!seen.insert(l.product_id).second)
      return bad(prefix + "product_id '" + l.product_id
                 + "' appears more than once; one item per product");
    out.items.push_back(std::move(l));
  }
  return out;
}

parsed<webhook_call> webhook_from(const json& j) {
  rejection problem;
  auto event_id = id_field(j, "event_id", "event_id");
  if (failed(event_id, problem))
    return problem;
  auto order_id = id_field(j, "order_id", "order_id");
  if (failed(order_id, problem))
    return problem;
  auto payment_id = id_field(j, "payment_id", "payment_id");
  if (failed(payment_id, problem))
    return problem;
  auto* status = find(j, "status");
  if (!status || !status->is_string() || (*status != "succeeded" && *status != "failed"))
    return bad("status must be \"succeeded\" or \"failed\"");
  std::optional<std::int64_t> amount;
  if (auto* v = find_present(j, "amount_cents")) {
    auto a = int_field(*v, "amount_cents", 0, std::numeric_limits<std::int64_t>::max());
    if (failed(a, problem))
      return problem;
    amount = std::get<std::int64_t>(a);
  }
  webhook_call call;
  call.order_id = std::get<std::string>(order_id);
  if (*status == "succeeded")
    call.command = payment_succeeded{std::get<std::string>(event_id),
                                     std::get<std::string>(payment_id), amount};
  else
    call.command =
        payment_failed{std::get<std::string>(event_id), std::get<std::string>(payment_id)};
  return call;
}

/// The exception barrier every public parser goes through: nlohmann throws only on misuse
/// (a type we failed to check), and that must still be a 400, never a crash.
template <class F>
auto guarded(std::string_view body, F&& f) -> decltype(f(std::declval<const json&>())) {
  try {
    auto object = parse_object(body);
    if (auto r = std::get_if<rejection>(&object))
      return *r;
    return f(std::get<json>(object));
  } catch (const std::exception& e) {
    return bad(std::string("the body could not be read: ") + e.what());
  }
}

} // namespace

bool is_valid_id(std::string_view id) {
  if (id.empty() || id.size() > max_id_length)
    return false;
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.'
              || c == '_' || c == ':' || c == '-';
    if (!ok)
      return false;
  }
  return true;
}

std::optional<rejection> check_id(std::string_view field, std::string_view id) {
  if (is_valid_id(id))
    return std::nullopt;
  return bad(std::string(field) + " must be 1..128 characters of [A-Za-z0-9._:-]");
}

parsed<define_product> parse_define_product(std::string_view product_id, std::string_view body,
                                            std::int64_t default_hold_seconds) {
  return guarded(body,
                 [&](const json& j) { return define_from(product_id, j, default_hold_seconds); });
}

parsed<order_request> parse_order_request(std::string_view body,
                                          const std::optional<std::string>& idempotency_key) {
  return guarded(body, [&](const json& j) { return order_from(j, idempotency_key); });
}

parsed<cancel_order> parse_cancel_order(std::string_view body) {
  return guarded(body, [](const json& j) -> parsed<cancel_order> {
    if (auto r = reject_unknown(j, {"user_id"}, ""))
      return *r;
    auto user = id_field(j, "user_id", "user_id");
    if (auto r = std::get_if<rejection>(&user))
      return *r;
    return cancel_order{std::get<std::string>(user)};
  });
}

parsed<webhook_call> parse_webhook(std::string_view body) {
  return guarded(body, [](const json& j) { return webhook_from(j); });
}

} // namespace flashsale
