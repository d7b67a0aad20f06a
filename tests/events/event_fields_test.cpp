// The field lists are the one description of every event's wire form (events/event_fields.hpp).
// Walking them generically: an event written with only its required fields (as a log from
// before every optional field existed) decodes, through the fast path and through the full
// parser alike, with each optional field at its listed fallback; and an event missing any one
// required field is refused by both. So a field added with a fallback can never break an
// old log, and one added as required is caught here.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "events/event.hpp"
#include "events/event_fields.hpp"
#include "events/fast_decode.hpp"

namespace flashsale {
namespace {

using json = nlohmann::json;

/// The JSON value a required field gets in these tests.
template <class E>
json sample(const fields::text<E>&) {
  return "x";
}
template <class E>
json sample(const fields::integer<E>&) {
  return 3;
}
template <class E>
json sample(const fields::time<E>&) {
  return "2026-11-21T10:00:00.000Z";
}
template <class E>
json sample(const fields::optional_time<E>&) { // never required; here for completeness
  return nullptr;
}
template <class E>
json sample(const fields::reason<E>& f) {
  return to_string(f.fallback);
}
template <class E, class L>
json sample(const fields::lines<E, L>&) {
  return json::array({json{{"product_id", "p"}, {"quantity", 1}}});
}

template <class E>
struct probe {
  // Which fields are required, and their sample values.
  static json required_only(int skip = -1) {
    json j = json::object();
    int i = 0;
    fields::each<E>([&](const auto& f) {
      if (required(f) && i++ != skip)
        j[f.key] = sample(f);
    });
    return j;
  }
  static int required_count() {
    int n = 0;
    fields::each<E>([&](const auto& f) { n += required(f) ? 1 : 0; });
    return n;
  }
  static bool required(const fields::text<E>& f) { return f.fallback == nullptr; }
  static bool required(const fields::integer<E>& f) { return f.required; }
  static bool required(const fields::time<E>&) { return true; }
  static bool required(const fields::optional_time<E>&) { return false; }
  static bool required(const fields::reason<E>&) { return false; }
  template <class L>
  static bool required(const fields::lines<E, L>& f) {
    return f.required;
  }

  /// The optional fields of `e` hold their fallbacks.
  static std::string fallbacks_differing(const E& e) {
    std::string wrong;
    fields::each<E>([&](const auto& f) { check(e, f, wrong); });
    return wrong;
  }
  static void check(const E& e, const fields::text<E>& f, std::string& wrong) {
    if (f.fallback && e.*f.member != f.fallback)
      wrong += std::string(f.key) + " ";
  }
  static void check(const E& e, const fields::integer<E>& f, std::string& wrong) {
    if (!f.required && e.*f.member != f.fallback)
      wrong += std::string(f.key) + " ";
  }
  static void check(const E&, const fields::time<E>&, std::string&) {}
  static void check(const E& e, const fields::optional_time<E>& f, std::string& wrong) {
    if (e.*f.member)
      wrong += std::string(f.key) + " ";
  }
  static void check(const E& e, const fields::reason<E>& f, std::string& wrong) {
    if (e.*f.member != f.fallback)
      wrong += std::string(f.key) + " ";
  }
  template <class L>
  static void check(const E& e, const fields::lines<E, L>& f, std::string& wrong) {
    if (!f.required && !(e.*f.member).empty())
      wrong += std::string(f.key) + " ";
  }
};

template <class E>
void check_event() {
  const std::string type = type_name(event{E{}});
  auto data = probe<E>::required_only().dump();
  envelope env;
  env.type = type;
  env.data = data;
  auto full = decode_full(env);
  ASSERT_TRUE(full.value) << type << " " << data << ": " << full.error;
  auto fast = fast_decode(type, data);
  ASSERT_TRUE(fast) << type << " " << data << ": the fast path declined";
  EXPECT_EQ(to_envelope(*fast, 1, 0).data, to_envelope(*full.value, 1, 0).data) << type;
  EXPECT_EQ(probe<E>::fallbacks_differing(std::get<E>(*full.value)), "") << type;
  for (int skip = 0; skip < probe<E>::required_count(); ++skip) {
    env.data = probe<E>::required_only(skip).dump();
    EXPECT_FALSE(decode_full(env).value) << type << " without a required field: " << env.data;
    EXPECT_FALSE(fast_decode(type, env.data)) << type << ": " << env.data;
  }
}

template <std::size_t... I>
void check_all(std::index_sequence<I...>) {
  (check_event<std::variant_alternative_t<I, event>>(), ...);
}

TEST(EventFields, EveryEventReadsFromItsRequiredFieldsAloneWithTheListedFallbacks) {
  check_all(std::make_index_sequence<std::variant_size_v<event>>{});
}

} // namespace
} // namespace flashsale
