// The one field list of every event (and of the lines inside orders): its JSON key, the
// member it holds, and how a log that lacks it reads. The nlohmann codec
// (events/event_json.cpp), the fast writer (events/fast_encode.cpp) and the fast reader
// (events/fast_decode.cpp) all walk these lists, so a new field is one line here and the
// three cannot disagree; the byte-for-byte tests (tests/events/fast_*_test.cpp) hold the fast
// paths to the nlohmann one.
// Rules of the wire form (events/product_events.hpp, events/order_events.hpp): identity fields
// (ids, quantities, the times the state machine runs on) are required, an event without them
// is corrupt; every other field has a fallback, so fields added later never break old logs.
// Internal to events/: include only from its .cpp files.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "events/order_events.hpp"
#include "events/product_events.hpp"
#include "events/product_fields.hpp"

namespace flashsale::fields {

/// A string; `fallback` null = required.
template <class E>
struct text {
  const char* key;
  std::string E::*member;
  const char* fallback = nullptr;
};

/// An integer; `required` false = `fallback` when absent.
template <class E>
struct integer {
  const char* key;
  std::int64_t E::*member;
  bool required = true;
  std::int64_t fallback = 0;
};

/// A required point in time, written as RFC 3339 with milliseconds.
template <class E>
struct time {
  const char* key;
  timestamp_ms E::*member;
};

/// An optional point in time: null (or absent) when unset.
template <class E>
struct optional_time {
  const char* key;
  std::optional<timestamp_ms> E::*member;
};

/// A release reason, by its wire string (events/product_events.hpp).
template <class E>
struct reason {
  const char* key;
  release_reason E::*member;
  release_reason fallback;
};

/// An array of line objects (order_line, priced_line) with field lists of their own;
/// `required` false = absent or null reads as empty.
template <class E, class Line>
struct lines {
  const char* key;
  std::vector<Line> E::*member;
  bool required = true;
};

template <class E>
struct of;

template <>
struct of<order_line> {
  using E = order_line;
  static constexpr auto list =
      std::make_tuple(text<E>{"product_id", &E::product_id}, integer<E>{"quantity", &E::quantity});
};

template <>
struct of<priced_line> {
  using E = priced_line;
  static constexpr auto list =
      std::make_tuple(text<E>{"product_id", &E::product_id}, integer<E>{"quantity", &E::quantity},
                      integer<E>{"unit_price_cents", &E::unit_price_cents, false, 0});
};

/// A product field (events/product_fields.hpp) as the event codecs see it; counts are not in
/// the event.
template <class E>
constexpr auto from_product(const product_field::id& f) {
  return std::make_tuple(text<E>{f.key, f.member});
}
template <class E>
constexpr auto from_product(const product_field::text& f) {
  return std::make_tuple(text<E>{f.key, f.member, f.fallback});
}
template <class E>
constexpr auto from_product(const product_field::integer& f) {
  return std::make_tuple(integer<E>{f.key, f.member, f.required, f.fallback});
}
template <class E>
constexpr auto from_product(const product_field::optional_time& f) {
  return std::make_tuple(optional_time<E>{f.key, f.member});
}
template <class E>
constexpr auto from_product(const product_field::count&) {
  return std::tuple<>{};
}

/// ProductDefined's list is the product's, so a new product field is never forgotten here.
template <>
struct of<ProductDefined> {
  static constexpr auto list = std::apply(
      [](const auto&... f) { return std::tuple_cat(from_product<ProductDefined>(f)...); },
      product_field::list);
};

template <>
struct of<StockReserved> {
  using E = StockReserved;
  static constexpr auto list =
      std::make_tuple(text<E>{"product_id", &E::product_id}, text<E>{"order_id", &E::order_id},
                      integer<E>{"quantity", &E::quantity}, text<E>{"user_id", &E::user_id, ""},
                      integer<E>{"unit_price_cents", &E::unit_price_cents, false, 0});
};

template <>
struct of<StockReleased> {
  using E = StockReleased;
  static constexpr auto list =
      std::make_tuple(text<E>{"product_id", &E::product_id}, text<E>{"order_id", &E::order_id},
                      integer<E>{"quantity", &E::quantity}, text<E>{"user_id", &E::user_id, ""},
                      reason<E>{"reason", &E::reason, release_reason::compensation});
};

template <>
struct of<StockSold> {
  using E = StockSold;
  static constexpr auto list =
      std::make_tuple(text<E>{"product_id", &E::product_id}, text<E>{"order_id", &E::order_id},
                      integer<E>{"quantity", &E::quantity}, text<E>{"user_id", &E::user_id, ""});
};

template <>
struct of<OrderPlaced> {
  using E = OrderPlaced;
  static constexpr auto list = std::make_tuple(
      text<E>{"order_id", &E::order_id}, text<E>{"user_id", &E::user_id},
      lines<E, order_line>{"items", &E::items}, text<E>{"idempotency_key", &E::idempotency_key, ""},
      text<E>{"request_hash", &E::request_hash, ""}, time<E>{"placed_at", &E::placed_at});
};

template <>
struct of<OrderReserved> {
  using E = OrderReserved;
  static constexpr auto list =
      std::make_tuple(text<E>{"order_id", &E::order_id}, time<E>{"expires_at", &E::expires_at},
                      integer<E>{"total_cents", &E::total_cents, false, 0},
                      lines<E, priced_line>{"lines", &E::lines, false});
};

template <>
struct of<OrderRejected> {
  using E = OrderRejected;
  static constexpr auto list =
      std::make_tuple(text<E>{"order_id", &E::order_id}, text<E>{"code", &E::code, "internal"},
                      text<E>{"message", &E::message, ""});
};

template <>
struct of<OrderPaid> {
  using E = OrderPaid;
  static constexpr auto list =
      std::make_tuple(text<E>{"order_id", &E::order_id}, text<E>{"payment_id", &E::payment_id, ""},
                      text<E>{"event_id", &E::event_id, ""},
                      integer<E>{"amount_cents", &E::amount_cents, false, 0});
};

template <>
struct of<OrderCancelled> {
  using E = OrderCancelled;
  static constexpr auto list = std::make_tuple(
      text<E>{"order_id", &E::order_id}, text<E>{"reason", &E::reason, cancel_reason_user},
      text<E>{"payment_id", &E::payment_id, ""}, text<E>{"event_id", &E::event_id, ""});
};

template <>
struct of<OrderExpired> {
  using E = OrderExpired;
  static constexpr auto list = std::make_tuple(text<E>{"order_id", &E::order_id});
};

template <>
struct of<PaymentRejected> {
  using E = PaymentRejected;
  static constexpr auto list = std::make_tuple(
      text<E>{"order_id", &E::order_id}, text<E>{"payment_id", &E::payment_id, ""},
      text<E>{"event_id", &E::event_id, ""}, integer<E>{"amount_cents", &E::amount_cents, false, 0},
      text<E>{"reason", &E::reason, ""});
};

/// Calls `f(field)` for every field of E, in list order; true when every call returned true
/// (for readers, which stop at the first field they cannot read).
template <class E, class F>
bool all_of(F&& f) {
  return std::apply([&](const auto&... field) { return (f(field) && ...); }, of<E>::list);
}

/// The same for writers, which cannot fail.
template <class E, class F>
void each(F&& f) {
  std::apply([&](const auto&... field) { (f(field), ...); }, of<E>::list);
}

} // namespace flashsale::fields
