// The nlohmann codec of every event and line, walked from their field lists
// (events/event_fields.hpp): the reference form the fast paths are tested against, and the
// path taken for anything they are not sure about (non-ASCII text, escapes).
#include <nlohmann/json.hpp>

#include "events/event_fields.hpp"
#include "events/json_time.hpp"

namespace flashsale {

namespace {

using json = nlohmann::json;

template <class E>
void put(json& j, const E& e, const fields::text<E>& f) {
  j[f.key] = e.*f.member;
}
template <class E>
void put(json& j, const E& e, const fields::integer<E>& f) {
  j[f.key] = e.*f.member;
}
template <class E>
void put(json& j, const E& e, const fields::time<E>& f) {
  j[f.key] = format_rfc3339(e.*f.member);
}
template <class E>
void put(json& j, const E& e, const fields::optional_time<E>& f) {
  j[f.key] = json_time::write_optional(e.*f.member);
}
template <class E>
void put(json& j, const E& e, const fields::reason<E>& f) {
  j[f.key] = to_string(e.*f.member);
}
template <class E, class Line>
void put(json& j, const E& e, const fields::lines<E, Line>& f) {
  j[f.key] = e.*f.member;
}

template <class E>
void get(const json& j, E& e, const fields::text<E>& f) {
  if (f.fallback)
    e.*f.member = j.value(f.key, std::string(f.fallback));
  else
    j.at(f.key).get_to(e.*f.member);
}
template <class E>
void get(const json& j, E& e, const fields::integer<E>& f) {
  if (f.required)
    j.at(f.key).get_to(e.*f.member);
  else
    e.*f.member = j.value(f.key, f.fallback);
}
template <class E>
void get(const json& j, E& e, const fields::time<E>& f) {
  e.*f.member = json_time::read(j, f.key);
}
template <class E>
void get(const json& j, E& e, const fields::optional_time<E>& f) {
  e.*f.member = json_time::read_optional(j, f.key);
}
template <class E>
void get(const json& j, E& e, const fields::reason<E>& f) {
  auto parsed = parse_release_reason(j.value(f.key, std::string(to_string(f.fallback))));
  if (!parsed)
    throw json::other_error::create(501, std::string("unknown ") + f.key, &j);
  e.*f.member = *parsed;
}
template <class E, class Line>
void get(const json& j, E& e, const fields::lines<E, Line>& f) {
  if (f.required) {
    j.at(f.key).get_to(e.*f.member);
    return;
  }
  (e.*f.member).clear();
  if (auto it = j.find(f.key); it != j.end() && !it->is_null())
    it->get_to(e.*f.member);
}

template <class E>
void write_fields(json& j, const E& e) {
  j = json::object();
  fields::each<E>([&](const auto& f) { put(j, e, f); });
}

template <class E>
void read_fields(const json& j, E& e) {
  fields::each<E>([&](const auto& f) { get(j, e, f); });
}

} // namespace

#define FLASHSALE_JSON_CODEC(T)                                                                    \
  void to_json(json& j, const T& e) {                                                              \
    write_fields(j, e);                                                                            \
  }                                                                                                \
  void from_json(const json& j, T& e) {                                                            \
    read_fields(j, e);                                                                             \
  }

FLASHSALE_JSON_CODEC(order_line)
FLASHSALE_JSON_CODEC(priced_line)
FLASHSALE_JSON_CODEC(ProductDefined)
FLASHSALE_JSON_CODEC(StockReserved)
FLASHSALE_JSON_CODEC(StockReleased)
FLASHSALE_JSON_CODEC(StockSold)
FLASHSALE_JSON_CODEC(OrderPlaced)
FLASHSALE_JSON_CODEC(OrderReserved)
FLASHSALE_JSON_CODEC(OrderRejected)
FLASHSALE_JSON_CODEC(OrderPaid)
FLASHSALE_JSON_CODEC(OrderCancelled)
FLASHSALE_JSON_CODEC(OrderExpired)
FLASHSALE_JSON_CODEC(PaymentRejected)

#undef FLASHSALE_JSON_CODEC

} // namespace flashsale
