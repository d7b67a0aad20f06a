// The one field list of a product: what PUT /products/{id} sets, ProductDefined stores,
// product_state holds and GET /products/{id} shows. Each field is written once, below, with its
// JSON key, its member, its rule (checked alike by the HTTP edge and by decide) and how a log
// that lacks it reads. Walked by the event codecs (events/event_fields.hpp), the view codec
// (events/product_fields.cpp), the body parser (http/validation.cpp) and the snapshot.
// invariant: `list` is in the order the view shows its keys (API.md); count entries are the
// view's alone. Pure: no I/O, no clock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>

#include <nlohmann/json_fwd.hpp>

#include "events/envelope.hpp"

namespace flashsale {

/// Largest accepted stock (API.md: 0..1e9).
inline constexpr std::int64_t max_stock = 1'000'000'000;
/// Bounds API.md leaves open, chosen so no arithmetic can overflow (total = Σ price × qty over
/// 50 lines stays below 2^63): price_cents ≤ 10^12, hold_seconds 1..31,536,000 (one year).
inline constexpr std::int64_t max_price_cents = 1'000'000'000'000;
inline constexpr std::int64_t max_hold_seconds = 31'536'000;
inline constexpr std::size_t max_name_chars = 200;

/// A product's definition: everything an admin sets, and all a ProductDefined carries. The
/// command, the event, the state and the view derive from it, so a field is declared once.
/// Members stay in this order: `ProductDefined{id, name, stock, ...}` initialises them so.
struct product_definition {
  std::string product_id;
  std::string name;
  std::int64_t stock = 0;
  std::int64_t price_cents = 0;
  std::int64_t per_user_limit = 0; ///< 0 = no limit
  std::optional<timestamp_ms> sale_starts_at;
  std::int64_t hold_seconds = 600;
};

/// What GET /products/{id} shows: the definition and the counts, not the holds.
struct product_view : product_definition {
  std::int64_t available = 0;
  std::int64_t reserved = 0;
  std::int64_t sold = 0;
};

namespace product_field {

/// The product's id: required everywhere; at the edge it comes from the path, not the body.
struct id {
  const char* key;
  std::string product_definition::*member;
};

/// A string of min_chars..max_chars characters (UTF-8). `required` = the edge refuses a body
/// without it; a log without it reads `fallback`.
struct text {
  const char* key;
  std::string product_definition::*member;
  std::size_t min_chars;
  std::size_t max_chars;
  bool required;
  const char* fallback;
};

/// An integer in lo..hi. `required` = the edge and the log both need it (identity); otherwise
/// an absent one keeps the edge's default and reads `fallback` from a log.
struct integer {
  const char* key;
  std::int64_t product_definition::*member;
  std::int64_t lo;
  std::int64_t hi;
  bool required;
  std::int64_t fallback;
};

/// A point in time, or null (absent) when unset; RFC 3339 in JSON.
struct optional_time {
  const char* key;
  std::optional<timestamp_ms> product_definition::*member;
};

/// A count the view shows (kept by the inventory, never set by a define).
struct count {
  const char* key;
  std::int64_t product_view::*member;
};

using D = product_definition;
inline constexpr auto list = std::make_tuple(
    id{"product_id", &D::product_id}, text{"name", &D::name, 1, max_name_chars, true, ""},
    integer{"stock", &D::stock, 0, max_stock, true, 0},
    count{"available", &product_view::available}, count{"reserved", &product_view::reserved},
    count{"sold", &product_view::sold},
    integer{"per_user_limit", &D::per_user_limit, 0, max_stock, false, 0},
    integer{"price_cents", &D::price_cents, 0, max_price_cents, false, 0},
    optional_time{"sale_starts_at", &D::sale_starts_at},
    integer{"hold_seconds", &D::hold_seconds, 1, max_hold_seconds, false, 600});

/// Calls `f(field)` for every entry of the list, in order.
template <class F>
void each(F&& f) {
  std::apply([&](const auto&... field) { (f(field), ...); }, list);
}

/// The rule of one field as the message that names it ("stock must be an integer
/// 0..1000000000"); `problem` is nullopt when `v` keeps the rule, else that message. The edge
/// and decide both say this.
std::string rule(const text& f);
std::string rule(const integer& f);
std::optional<std::string> problem(const text& f, const std::string& v);
std::optional<std::string> problem(const integer& f, std::int64_t v);

} // namespace product_field

/// The first field of `d` that breaks its rule (in list order), as an invalid_request
/// message; nullopt when every field keeps its rule.
std::optional<std::string> definition_problem(const product_definition& d);

/// Every definition field equal (counts and holds are not compared).
bool same_definition(const product_definition& a, const product_definition& b);

/// The view codec, the only one: the HTTP answer and the cluster's forwarded view alike.
/// Keys in list order, sale_starts_at as RFC 3339 or null. from_json throws
/// nlohmann::json::exception on a missing or mistyped field.
std::string product_view_json(const product_view& v);
void to_json(nlohmann::json& j, const product_view& v);
void from_json(const nlohmann::json& j, product_view& v);

} // namespace flashsale
