// Inventory rules (events/product.hpp): every transition and every rejection of define,
// reserve, release and sell, and what apply does to the counts.
#include <gtest/gtest.h>

#include "events/product.hpp"
#include "render.hpp"

namespace flashsale {
namespace {

using test::render;

constexpr timestamp_ms now = 1'000'000;

// Decides and applies, as an inventory actor does; returns the rendered decision.
template <class Command, class... Now>
std::string run(product_state& s, const Command& c, Now... t) {
  decision d = decide(s, c, t...);
  for (const auto& e : d.events)
    apply(s, e);
  return render(d);
}

product_state defined(std::int64_t stock, std::int64_t limit = 0,
                      std::optional<timestamp_ms> starts = std::nullopt) {
  product_state s;
  EXPECT_EQ(run(s, define_product{"p1", "Phone", stock, 250, limit, starts, 600}),
            "ProductDefined");
  return s;
}

reserve_stock reserve(const char* order, const char* user, std::int64_t qty) {
  return reserve_stock{"p1", order, user, qty};
}

TEST(ProductDecide, DefinesANewProduct) {
  auto s = defined(10, 2);
  EXPECT_EQ(render(s),
            "p1 v1 'Phone' stock=10 avail=10 res=0 sold=0 limit=2 price=250 hold_s=600 starts=-1 "
            "holds[ ] users[ ]");
}

TEST(ProductDecide, RejectsInvalidDefinitions) {
  product_state s;
  EXPECT_EQ(render(decide(s, define_product{"", "n", 1, 0, 0, {}, 600})),
            "rejected:invalid_request");
  EXPECT_EQ(render(decide(s, define_product{"p1", "", 1, 0, 0, {}, 600})),
            "rejected:invalid_request");
  EXPECT_EQ(render(decide(s, define_product{"p1", "n", -1, 0, 0, {}, 600})),
            "rejected:invalid_request");
  EXPECT_EQ(render(decide(s, define_product{"p1", "n", max_stock + 1, 0, 0, {}, 600})),
            "rejected:invalid_request");
  EXPECT_EQ(render(decide(s, define_product{"p1", "n", 1, -5, 0, {}, 600})),
            "rejected:invalid_request");
  EXPECT_EQ(render(decide(s, define_product{"p1", "n", 1, 0, -1, {}, 600})),
            "rejected:invalid_request");
  EXPECT_EQ(render(decide(s, define_product{"p1", "n", 1, 0, 0, {}, -1})),
            "rejected:invalid_request");
}

TEST(ProductDecide, UpdateKeepsCountsAndHolds) {
  auto s = defined(10);
  run(s, reserve("o1", "u1", 3), now);
  EXPECT_EQ(run(s, define_product{"p1", "Phone 2", 20, 300, 5, now, 60}), "ProductDefined");
  EXPECT_EQ(render(s), "p1 v3 'Phone 2' stock=20 avail=17 res=3 sold=0 limit=5 price=300 "
                       "hold_s=60 starts=1000000 holds[ o1:u1:3@250:held ] users[ u1:3 ]");
}

TEST(ProductDecide, RejectsStockBelowCommitted) {
  auto s = defined(10);
  run(s, reserve("o1", "u1", 3), now);
  run(s, reserve("o2", "u2", 2), now);
  run(s, sell_stock{"p1", "o2"});
  EXPECT_EQ(run(s, define_product{"p1", "Phone", 4, 250, 0, {}, 600}),
            "rejected:stock_below_committed");
  EXPECT_EQ(run(s, define_product{"p1", "Phone", 5, 250, 0, {}, 600}), "ProductDefined");
  EXPECT_EQ(s.available(), 0);
}

TEST(ProductDecide, RejectsLimitBelowWhatAUserAlreadyHolds) {
  auto s = defined(10, 5);
  run(s, reserve("o1", "u1", 3), now);
  EXPECT_EQ(run(s, define_product{"p1", "Phone", 10, 250, 2, {}, 600}), "rejected:invalid_state");
  EXPECT_EQ(run(s, define_product{"p1", "Phone", 10, 250, 3, {}, 600}), "ProductDefined");
}

TEST(ProductDecide, IdenticalRedefinitionEmitsNothing) {
  auto s = defined(10);
  EXPECT_EQ(run(s, define_product{"p1", "Phone", 10, 250, 0, {}, 600}), "duplicate");
  EXPECT_EQ(s.version, 1);
}

TEST(ProductDecide, ReservesAndRecordsTheCurrentPrice) {
  auto s = defined(10);
  EXPECT_EQ(run(s, reserve("o1", "u1", 4), now), "StockReserved");
  EXPECT_EQ(render(s), "p1 v2 'Phone' stock=10 avail=6 res=4 sold=0 limit=0 price=250 hold_s=600 "
                       "starts=-1 holds[ o1:u1:4@250:held ] users[ u1:4 ]");
}

TEST(ProductDecide, RejectsReserveOfUnknownProductNamingIt) {
  product_state s;
  auto d = decide(s, reserve_stock{"ghost", "o1", "u1", 1}, now);
  EXPECT_EQ(render(d), "rejected:unknown_product");
  EXPECT_NE(d.rejected->message.find("ghost"), std::string::npos) << d.rejected->message;
}

TEST(ProductDecide, RejectsReserveOfLessThanOneUnit) {
  auto s = defined(10);
  EXPECT_EQ(run(s, reserve("o1", "u1", 0), now), "rejected:invalid_request");
  EXPECT_EQ(run(s, reserve("o1", "u1", -3), now), "rejected:invalid_request");
  EXPECT_EQ(run(s, reserve("", "u1", 1), now), "rejected:invalid_request");
}

TEST(ProductDecide, RejectsReserveBeforeTheSaleStarts) {
  auto s = defined(10, 0, now + 1);
  EXPECT_EQ(run(s, reserve("o1", "u1", 1), now), "rejected:sale_not_started");
  EXPECT_EQ(run(s, reserve("o1", "u1", 1), now + 1), "StockReserved");
}

TEST(ProductDecide, RejectsReserveWhenSoldOut) {
  auto s = defined(3);
  EXPECT_EQ(run(s, reserve("o1", "u1", 2), now), "StockReserved");
  auto d = decide(s, reserve("o2", "u2", 2), now);
  EXPECT_EQ(render(d), "rejected:sold_out");
  EXPECT_EQ(run(s, reserve("o3", "u3", 1), now), "StockReserved");
  EXPECT_EQ(run(s, reserve("o4", "u4", 1), now), "rejected:sold_out");
  EXPECT_EQ(s.available(), 0);
}

TEST(ProductDecide, RejectsReserveOverThePerUserLimitCountingSoldUnits) {
  auto s = defined(10, 2);
  EXPECT_EQ(run(s, reserve("o1", "u1", 1), now), "StockReserved");
  run(s, sell_stock{"p1", "o1"});
  EXPECT_EQ(run(s, reserve("o2", "u1", 2), now), "rejected:limit_exceeded");
  EXPECT_EQ(run(s, reserve("o2", "u1", 1), now), "StockReserved");
  EXPECT_EQ(run(s, reserve("o3", "u2", 2), now), "StockReserved");
}

TEST(ProductDecide, ReleasedUnitsNoLongerCountAgainstTheLimit) {
  auto s = defined(10, 2);
  run(s, reserve("o1", "u1", 2), now);
  EXPECT_EQ(run(s, release_stock{"p1", "o1", release_reason::expired}), "StockReleased");
  EXPECT_EQ(run(s, reserve("o2", "u1", 2), now), "StockReserved");
}

TEST(ProductDecide, ChecksLimitBeforeStock) {
  auto s = defined(1, 1);
  // Over both the limit and the stock: the documented order reports limit_exceeded.
  EXPECT_EQ(run(s, reserve("o1", "u1", 2), now), "rejected:limit_exceeded");
}

TEST(ProductDecide, ReserveIsIdempotentByOrderId) {
  auto s = defined(2);
  EXPECT_EQ(run(s, reserve("o1", "u1", 2), now), "StockReserved");
  // The retry sees its first outcome even though the product is now sold out.
  EXPECT_EQ(run(s, reserve("o1", "u1", 2), now), "duplicate");
  run(s, sell_stock{"p1", "o1"});
  EXPECT_EQ(run(s, reserve("o1", "u1", 2), now), "duplicate");
  EXPECT_EQ(s.sold, 2);
  EXPECT_EQ(s.reserved, 0);
}

TEST(ProductDecide, IdempotentReserveWinsOverSaleNotStarted) {
  auto s = defined(5);
  run(s, reserve("o1", "u1", 1), now);
  run(s, define_product{"p1", "Phone", 5, 250, 0, now + 100, 600});
  EXPECT_EQ(run(s, reserve("o1", "u1", 1), now), "duplicate");
}

TEST(ProductDecide, RejectsReserveForAnAlreadyReleasedOrder) {
  auto s = defined(5);
  run(s, reserve("o1", "u1", 1), now);
  run(s, release_stock{"p1", "o1", release_reason::compensation});
  EXPECT_EQ(run(s, reserve("o1", "u1", 1), now), "rejected:invalid_state");
  EXPECT_EQ(s.reserved, 0);
}

TEST(ProductDecide, ReleasesHeldUnitsWithTheReason) {
  auto s = defined(5);
  run(s, reserve("o1", "u1", 3), now);
  auto d = decide(s, release_stock{"p1", "o1", release_reason::cancelled});
  ASSERT_EQ(render(d), "StockReleased");
  const auto& e = std::get<StockReleased>(d.events[0]);
  EXPECT_EQ(e.reason, release_reason::cancelled);
  EXPECT_EQ(e.quantity, 3);
  EXPECT_EQ(e.user_id, "u1");
  apply(s, d.events[0]);
  EXPECT_EQ(render(s), "p1 v3 'Phone' stock=5 avail=5 res=0 sold=0 limit=0 price=250 hold_s=600 "
                       "starts=-1 holds[ o1:u1:3@250:released ] users[ ]");
}

TEST(ProductDecide, ReleaseIsIdempotent) {
  auto s = defined(5);
  run(s, reserve("o1", "u1", 3), now);
  EXPECT_EQ(run(s, release_stock{"p1", "o1", release_reason::expired}), "StockReleased");
  EXPECT_EQ(run(s, release_stock{"p1", "o1", release_reason::expired}), "duplicate");
  EXPECT_EQ(s.available(), 5);
}

TEST(ProductDecide, ReleaseOfAnOrderThatHoldsNothingIsANoOp) {
  auto s = defined(5);
  EXPECT_EQ(run(s, release_stock{"p1", "never", release_reason::compensation}), "none");
  product_state undefined;
  EXPECT_EQ(render(decide(undefined, release_stock{"p1", "o", release_reason::compensation})),
            "none");
}

TEST(ProductDecide, RejectsReleaseOfSoldUnits) {
  auto s = defined(5);
  run(s, reserve("o1", "u1", 1), now);
  run(s, sell_stock{"p1", "o1"});
  EXPECT_EQ(run(s, release_stock{"p1", "o1", release_reason::expired}), "rejected:invalid_state");
  EXPECT_EQ(s.sold, 1);
}

TEST(ProductDecide, SellsHeldUnits) {
  auto s = defined(5);
  run(s, reserve("o1", "u1", 2), now);
  EXPECT_EQ(run(s, sell_stock{"p1", "o1"}), "StockSold");
  EXPECT_EQ(render(s), "p1 v3 'Phone' stock=5 avail=3 res=0 sold=2 limit=0 price=250 hold_s=600 "
                       "starts=-1 holds[ o1:u1:2@250:sold ] users[ u1:2 ]");
}

TEST(ProductDecide, SellIsIdempotent) {
  auto s = defined(5);
  run(s, reserve("o1", "u1", 2), now);
  EXPECT_EQ(run(s, sell_stock{"p1", "o1"}), "StockSold");
  EXPECT_EQ(run(s, sell_stock{"p1", "o1"}), "duplicate");
  EXPECT_EQ(s.sold, 2);
}

TEST(ProductDecide, RejectsSellOfReleasedOrMissingHolds) {
  auto s = defined(5);
  EXPECT_EQ(run(s, sell_stock{"p1", "nobody"}), "rejected:invalid_state");
  run(s, reserve("o1", "u1", 2), now);
  run(s, release_stock{"p1", "o1", release_reason::expired});
  EXPECT_EQ(run(s, sell_stock{"p1", "o1"}), "rejected:invalid_state");
  product_state undefined;
  EXPECT_EQ(render(decide(undefined, sell_stock{"p1", "o1"})), "rejected:unknown_product");
}

TEST(ProductApply, IgnoresOrderEvents) {
  auto s = defined(5);
  apply(s, OrderExpired{"o1"});
  EXPECT_EQ(s.version, 1);
}

} // namespace
} // namespace flashsale
