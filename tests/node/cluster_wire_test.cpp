// The wire form of a cart's stock commands and of a hold's settlement (node/cluster_wire):
// what one node encodes, another decodes to the same value; a malformed message throws (the
// receiving node answers it invalid_request) instead of acting on a guess.
#include <gtest/gtest.h>

#include "node/cluster_wire.hpp"

namespace flashsale {
namespace {

using namespace cluster_wire;

stock_command through_the_wire(const stock_command& c) {
  return stock_of(json::parse(stock_json(c).dump()));
}

TEST(ClusterWire, StockCommandsCrossUnchanged) {
  auto reserve = std::get<reserve_stock>(through_the_wire(reserve_stock{"p", "o", "u", 3}));
  EXPECT_EQ(reserve.product_id, "p");
  EXPECT_EQ(reserve.order_id, "o");
  EXPECT_EQ(reserve.user_id, "u");
  EXPECT_EQ(reserve.quantity, 3);
  for (auto reason : {release_reason::expired, release_reason::cancelled,
                      release_reason::payment_failed, release_reason::compensation}) {
    auto release = std::get<release_stock>(through_the_wire(release_stock{"p", "o", reason}));
    EXPECT_EQ(release.reason, reason);
    EXPECT_EQ(release.order_id, "o");
  }
  auto sell = std::get<sell_stock>(through_the_wire(sell_stock{"p", "o"}));
  EXPECT_EQ(sell.product_id, "p");
  EXPECT_EQ(sell.order_id, "o");
}

TEST(ClusterWire, StockOutcomesCrossUnchanged) {
  auto back = [](const stock_outcome& o) {
    return stock_outcome_of(json::parse(stock_outcome_json(o).dump()));
  };
  auto reserved = std::get<reserve_reply>(back(reserve_reply{250, 30, false}));
  EXPECT_EQ(reserved.unit_price_cents, 250);
  EXPECT_EQ(reserved.hold_seconds, 30);
  EXPECT_FALSE(reserved.fresh);
  EXPECT_TRUE(std::get<bool>(back(true)));
  auto no = std::get<rejection>(back(rejection{errc::sold_out, "gone"}));
  EXPECT_EQ(no.code, errc::sold_out);
  EXPECT_EQ(no.message, "gone");
}

TEST(ClusterWire, SettleOutcomesCrossUnchanged) {
  auto back = [](const settle_outcome& o) {
    return settle_outcome_of(json::parse(settle_outcome_json(o).dump()));
  };
  auto later = std::get<hold_verdict>(back(hold_verdict{false, 1234}));
  EXPECT_FALSE(later.settled);
  EXPECT_EQ(later.recheck_at, 1234);
  EXPECT_TRUE(std::get<hold_verdict>(back(hold_verdict{true, 0})).settled);
  EXPECT_EQ(std::get<rejection>(back(rejection{errc::unavailable, "x"})).code, errc::unavailable);
}

TEST(ClusterWire, MalformedStockCommandsAreRefusedNotGuessed) {
  EXPECT_THROW(stock_of(json{{"kind", "steal"}, {"product_id", "p"}, {"order_id", "o"}}),
               json::exception);
  EXPECT_THROW(
      stock_of(
          json{{"kind", "release"}, {"product_id", "p"}, {"order_id", "o"}, {"reason", "whim"}}),
      json::exception);
  EXPECT_THROW(stock_of(json{{"kind", "reserve"}, {"product_id", "p"}, {"order_id", "o"}}),
               json::exception);
}

} // namespace
} // namespace flashsale
