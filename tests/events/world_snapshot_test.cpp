// The snapshot format itself: what world_property_test's round trips do not pin down (an
// older format still read, odd ids survive the packing, a damaged snapshot refused).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "events/world_snapshot.hpp"
#include "render.hpp"

namespace flashsale {
namespace {

product_state product_with_holds() {
  product_state p;
  p.exists = true;
  p.product_id = "p1";
  p.name = "P";
  p.stock = 10;
  p.price_cents = 100;
  p.reserved = 2;
  p.sold = 3;
  p.version = 4;
  // ids with the packing's own delimiters, digits and an empty one
  p.holds["o:1,h"] = hold{"12:ab", 2, 100, hold_state::held};
  p.holds["o2"] = hold{"", 3, -7, hold_state::sold};
  p.holds["o3"] = hold{"u\n3", 1, 100, hold_state::released};
  p.user_units["12:ab"] = 2;
  p.user_units[""] = 3;
  return p;
}

TEST(WorldSnapshot, PackedHoldsAndUsersComeBackExactly) {
  world w;
  w.last_seq = 9;
  w.products["p1"] = product_with_holds();
  std::string error;
  auto back = decode_world(encode_world(w), error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(test::render(back->products["p1"]), test::render(w.products["p1"]));
  EXPECT_EQ(back->last_seq, 9);
}

TEST(WorldSnapshot, ReadsFormatOneWhereHoldsWereJsonObjects) {
  auto v1 = nlohmann::json::parse(R"({"format":1,"last_seq":5,"events":5,
    "forget_settled_orders":true,"order_counts":{},"orders":[],
    "products":[{"exists":true,"product_id":"p1","name":"P","stock":10,"price_cents":100,
      "per_user_limit":0,"sale_starts_at":null,"hold_seconds":600,"reserved":1,"sold":0,
      "version":2,"holds":{"o1":["u1",1,100,"held"]},"user_units":{"u1":1}}]})");
  std::string error;
  auto w = decode_world(v1.dump(), error);
  ASSERT_TRUE(w) << error;
  EXPECT_EQ(test::render(w->products["p1"]),
            "p1 v2 'P' stock=10 avail=9 res=1 sold=0 limit=0 price=100 hold_s=600 starts=-1 "
            "holds[ o1:u1:1@100:held ] users[ u1:1 ]");
}

TEST(WorldSnapshot, RefusesADamagedPackedMap) {
  world w;
  w.products["p1"] = product_with_holds();
  auto good = nlohmann::json::parse(encode_world(w));
  auto& packed = good["products"][0]["holds"];
  auto text = packed.get<std::string>();
  for (auto damaged : {text.substr(0, text.size() - 1), text + "9", "99:o1" + text,
                       std::string("x") + text, text.substr(0, text.size() - 1) + "q"}) {
    packed = damaged;
    std::string error;
    EXPECT_FALSE(decode_world(good.dump(), error)) << damaged;
    EXPECT_NE(error.find("malformed"), std::string::npos) << error;
  }
}

} // namespace
} // namespace flashsale
