// The rules and the view codec of the product field list (events/product_fields.hpp).
#include "events/product_fields.hpp"

#include <nlohmann/json.hpp>

#include "events/time.hpp"

namespace flashsale {

namespace product_field {

namespace {

std::size_t utf8_chars(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    n += (c & 0xC0) != 0x80; // count lead bytes; callers hold valid UTF-8
  return n;
}

} // namespace

std::string rule(const text& f) {
  return std::string(f.key) + " must be " + std::to_string(f.min_chars) + ".."
         + std::to_string(f.max_chars) + " characters";
}

std::string rule(const integer& f) {
  return std::string(f.key) + " must be an integer " + std::to_string(f.lo) + ".."
         + std::to_string(f.hi);
}

std::optional<std::string> problem(const text& f, const std::string& v) {
  if (auto n = utf8_chars(v); n < f.min_chars || n > f.max_chars)
    return rule(f);
  return std::nullopt;
}

std::optional<std::string> problem(const integer& f, std::int64_t v) {
  if (v < f.lo || v > f.hi)
    return rule(f);
  return std::nullopt;
}

} // namespace product_field

namespace {

namespace pf = product_field;

// One overload per kind of entry; ids, times and counts carry no rule of their own here.
std::optional<std::string> problem_of(const product_definition&, const pf::id&) {
  return std::nullopt;
}
std::optional<std::string> problem_of(const product_definition& d, const pf::text& f) {
  return pf::problem(f, d.*f.member);
}
std::optional<std::string> problem_of(const product_definition& d, const pf::integer& f) {
  return pf::problem(f, d.*f.member);
}
std::optional<std::string> problem_of(const product_definition&, const pf::optional_time&) {
  return std::nullopt;
}
std::optional<std::string> problem_of(const product_definition&, const pf::count&) {
  return std::nullopt;
}

template <class F>
bool equal_at(const product_definition& a, const product_definition& b, const F& f) {
  return a.*f.member == b.*f.member;
}
bool equal_at(const product_definition&, const product_definition&, const pf::count&) {
  return true;
}

using ordered = nlohmann::ordered_json;

template <class J, class F>
void put(J& j, const product_view& v, const F& f) {
  j[f.key] = v.*f.member;
}
template <class J>
void put(J& j, const product_view& v, const pf::optional_time& f) {
  const auto& t = v.*f.member;
  j[f.key] = t ? J(format_rfc3339(*t)) : J(nullptr);
}

template <class J>
J write_view(const product_view& v) {
  J j = J::object();
  pf::each([&](const auto& f) { put(j, v, f); });
  return j;
}

template <class F>
void get(const nlohmann::json& j, product_view& v, const F& f) {
  j.at(f.key).get_to(v.*f.member);
}
void get(const nlohmann::json& j, product_view& v, const pf::optional_time& f) {
  auto it = j.find(f.key);
  if (it == j.end() || it->is_null()) {
    v.*f.member = std::nullopt;
    return;
  }
  auto t = parse_rfc3339(it->get<std::string>());
  if (!t)
    throw nlohmann::json::other_error::create(501, std::string(f.key) + " is not an RFC 3339 time",
                                              &j);
  v.*f.member = *t;
}

} // namespace

std::optional<std::string> definition_problem(const product_definition& d) {
  std::optional<std::string> out;
  pf::each([&](const auto& f) {
    if (!out)
      out = problem_of(d, f);
  });
  return out;
}

bool same_definition(const product_definition& a, const product_definition& b) {
  bool same = true;
  pf::each([&](const auto& f) { same = same && equal_at(a, b, f); });
  return same;
}

std::string product_view_json(const product_view& v) {
  return write_view<ordered>(v).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void to_json(nlohmann::json& j, const product_view& v) {
  j = write_view<nlohmann::json>(v);
}

void from_json(const nlohmann::json& j, product_view& v) {
  pf::each([&](const auto& f) { get(j, v, f); });
}

} // namespace flashsale
