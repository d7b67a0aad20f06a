// The product field list (events/product_fields.hpp) is the one description of a product: the
// event, the view and the snapshot are written from it, and each field's rule is the one decide
// and the HTTP edge apply. These pin the view's bytes (the HTTP answer), its round trip, the
// event's keys against the list, a definition's round trip through the event, and the rules.
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "events/event.hpp"
#include "events/product.hpp"
#include "events/product_fields.hpp"
#include "events/world_snapshot.hpp"
#include "render.hpp"

namespace flashsale {
namespace {

using json = nlohmann::json;
constexpr timestamp_ms t0 = 1'795'255'200'000; // 2026-11-21T10:00:00.000Z

product_view sample_view(std::optional<timestamp_ms> starts) {
  product_view v;
  static_cast<product_definition&>(v) = {"iphone", "iPhone 17", 100, 99900, 1, starts, 600};
  v.available = 37;
  v.reserved = 12;
  v.sold = 51;
  return v;
}

TEST(ProductFields, ViewIsWrittenInTheHttpShape) {
  EXPECT_EQ(product_view_json(sample_view(std::nullopt)),
            R"({"product_id":"iphone","name":"iPhone 17","stock":100,"available":37,)"
            R"("reserved":12,"sold":51,"per_user_limit":1,"price_cents":99900,)"
            R"("sale_starts_at":null,"hold_seconds":600})");
  EXPECT_EQ(json::parse(product_view_json(sample_view(t0)))["sale_starts_at"],
            "2026-11-21T10:00:00.000Z");
}

TEST(ProductFields, ViewRoundTripsThroughItsOneCodec) {
  for (auto starts : {std::optional<timestamp_ms>{}, std::optional<timestamp_ms>{t0 + 7}}) {
    auto v = sample_view(starts);
    auto back = json(v).get<product_view>();
    EXPECT_EQ(product_view_json(back), product_view_json(v));
    // The HTTP bytes read back the same way (the cluster forwards this form).
    EXPECT_EQ(product_view_json(json::parse(product_view_json(v)).get<product_view>()),
              product_view_json(v));
  }
}

TEST(ProductFields, ViewRefusesAMissingCountOrABadTime) {
  auto j = json(sample_view(t0));
  auto no_sold = j;
  no_sold.erase("sold");
  EXPECT_THROW(no_sold.get<product_view>(), json::exception);
  auto bad_time = j;
  bad_time["sale_starts_at"] = "yesterday";
  EXPECT_THROW(bad_time.get<product_view>(), json::exception);
}

TEST(ProductFields, EventCarriesEveryListedFieldButTheCounts) {
  std::set<std::string> listed;
  product_field::each([&](const auto& f) {
    if constexpr (!std::is_same_v<std::decay_t<decltype(f)>, product_field::count>)
      listed.insert(f.key);
  });
  std::set<std::string> written;
  auto data = json::parse(to_envelope(ProductDefined{}, 1, 0).data);
  for (auto& [key, value] : data.items())
    written.insert(key);
  EXPECT_EQ(written, listed);
  EXPECT_EQ(listed.size(), 7u);
}

TEST(ProductFields, DefinitionRoundTripsThroughTheEventAndTheSnapshot) {
  product_state s;
  auto d = decide(s, define_product{"p", "Case \xC3\xA9", 5, 250, 2, t0, 30});
  ASSERT_EQ(d.events.size(), 1u);
  auto back = decode(to_envelope(d.events[0], 1, 0));
  ASSERT_TRUE(back.value) << back.error;
  apply(s, *back.value);
  EXPECT_EQ(test::render(s), "p v1 'Case \xC3\xA9' stock=5 avail=5 res=0 sold=0 limit=2 price=250 "
                             "hold_s=30 starts=1795255200000 holds[ ] users[ ]");
  world w;
  w.products["p"] = s;
  std::string error;
  auto restored = decode_world(encode_world(w), error);
  ASSERT_TRUE(restored) << error;
  EXPECT_EQ(test::render(restored->products.at("p")), test::render(s));
}

TEST(ProductFields, OneRulePerFieldNamesTheFieldAndItsRange) {
  product_state s;
  auto message = [&](define_product c) {
    auto d = decide(s, c);
    return d.rejected ? d.rejected->message : std::string("accepted");
  };
  define_product ok{"p", "n", 1, 0, 0, {}, 600};
  EXPECT_EQ(message(ok), "accepted");
  auto c = ok;
  c.name = std::string(201, 'x');
  EXPECT_EQ(message(c), "name must be 1..200 characters");
  c = ok;
  c.stock = max_stock + 1;
  EXPECT_EQ(message(c), "stock must be an integer 0..1000000000");
  c = ok;
  c.price_cents = max_price_cents + 1;
  EXPECT_EQ(message(c), "price_cents must be an integer 0..1000000000000");
  c = ok;
  c.per_user_limit = -1;
  EXPECT_EQ(message(c), "per_user_limit must be an integer 0..1000000000");
}

// API.md and the edge: hold_seconds is 1..31,536,000 (a body's 0 is 400 invalid_request, and
// orders.hold_seconds, the default, is >= 1). The domain now says the same, so a hold that
// would expire as it is made cannot be defined by any path.
TEST(ProductFields, HoldSecondsIsAtLeastOneInTheDomainAsAtTheEdge) {
  product_state s;
  auto d = decide(s, define_product{"p", "n", 1, 0, 0, {}, 0});
  ASSERT_TRUE(d.rejected);
  EXPECT_EQ(d.rejected->code, errc::invalid_request);
  EXPECT_EQ(d.rejected->message, "hold_seconds must be an integer 1..31536000");
  EXPECT_FALSE(decide(s, define_product{"p", "n", 1, 0, 0, {}, 1}).rejected);
  EXPECT_TRUE(decide(s, define_product{"p", "n", 1, 0, 0, {}, max_hold_seconds + 1}).rejected);
}

// An old log's ProductDefined with hold_seconds 0 (the domain once allowed it) still replays:
// apply takes what the log says; only new definitions meet the rule.
TEST(ProductFields, AnOldLogsZeroHoldStillReplays) {
  envelope e;
  e.stream = product_stream("p");
  e.type = "ProductDefined";
  e.data = R"({"product_id":"p","stock":3,"hold_seconds":0})";
  auto d = decode(e);
  ASSERT_TRUE(d.value) << d.error;
  product_state s;
  apply(s, *d.value);
  EXPECT_EQ(test::render(s),
            "p v1 '' stock=3 avail=3 res=0 sold=0 limit=0 price=0 hold_s=0 starts=-1 holds[ ] "
            "users[ ]");
}

} // namespace
} // namespace flashsale
