// The JSON form of every event, through to_envelope and decode: what the store and NATS
// carry. Old logs must keep replaying, and bad input must come back as an error, not throw.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "events/event.hpp"
#include "events/time.hpp"

namespace flashsale {
namespace {

constexpr timestamp_ms t0 = 1'795'255'200'000; // 2026-11-21T10:00:00.000Z

std::vector<event> one_of_each() {
  return {
      ProductDefined{"iphone", "iPhone 17", 100, 99900, 1, t0, 600},
      ProductDefined{"case", "Case", 5, 0, 0, std::nullopt, 30},
      StockReserved{"iphone", "o-1", "u-1", 2, 99900},
      StockReleased{"iphone", "o-1", "u-1", 2, release_reason::payment_failed},
      StockSold{"iphone", "o-1", "u-1", 2},
      OrderPlaced{"o-1", "u-1", {{"iphone", 1}, {"case", 2}}, "key-1", "h-1", t0 + 5},
      OrderReserved{"o-1", t0 + 600'000, 99900, {{"iphone", 1, 99900}, {"case", 2, 0}}},
      OrderRejected{"o-2", "sold_out", "product 'iphone' has only 0 units available"},
      OrderPaid{"o-1", "pay-9", "evt-1", 99900},
      OrderCancelled{"o-3", "payment_failed", "pay-10", "evt-2"},
      OrderExpired{"o-4"},
      PaymentRejected{"o-4", "pay-11", "evt-3", 500, "order is expired"},
  };
}

std::string data_of(const event& e) {
  return to_envelope(e, 1, 0).data;
}

TEST(EventJson, RoundTripsEveryEventTypeThroughTheEnvelope) {
  std::set<std::string> types;
  for (const auto& e : one_of_each()) {
    envelope env = to_envelope(e, 7, t0);
    EXPECT_EQ(env.seq, 0);
    EXPECT_EQ(env.version, 7);
    EXPECT_EQ(env.recorded_at, t0);
    EXPECT_EQ(env.type, type_name(e));
    EXPECT_EQ(env.stream, stream_of(e));
    // Through the envelope's own JSON too, as NATS carries it.
    envelope back = nlohmann::json(env).get<envelope>();
    auto d = decode(back);
    ASSERT_TRUE(d.value) << env.type << ": " << d.error;
    EXPECT_EQ(d.value->index(), e.index());
    EXPECT_EQ(data_of(*d.value), env.data);
    types.insert(env.type);
  }
  EXPECT_EQ(types.size(), std::variant_size_v<event>);
}

TEST(EventJson, WritesSnakeCaseFieldsAndRfc3339Times) {
  EXPECT_EQ(data_of(ProductDefined{"iphone", "iPhone 17", 100, 99900, 1, std::nullopt, 600}),
            R"({"hold_seconds":600,"name":"iPhone 17","per_user_limit":1,"price_cents":99900,)"
            R"("product_id":"iphone","sale_starts_at":null,"stock":100})");
  EXPECT_EQ(data_of(OrderReserved{"o-1", t0, 300, {{"p", 3, 100}}}),
            R"({"expires_at":"2026-11-21T10:00:00.000Z","lines":[{"product_id":"p","quantity":3,)"
            R"("unit_price_cents":100}],"order_id":"o-1","total_cents":300})");
  EXPECT_EQ(
      data_of(StockReleased{"p", "o", "u", 1, release_reason::compensation}),
      R"({"order_id":"o","product_id":"p","quantity":1,"reason":"compensation","user_id":"u"})");
}

TEST(EventJson, NamesStreamsAfterTheirEntity) {
  EXPECT_EQ(stream_of(StockSold{"iphone", "o-1", "u", 1}), "product-iphone");
  EXPECT_EQ(stream_of(OrderExpired{"o-1"}), "order-o-1");
  EXPECT_EQ(product_stream("x"), "product-x");
  EXPECT_EQ(order_stream("y"), "order-y");
}

TEST(EventJson, ParsesTheStreamIdsItBuildsAndNothingElse) {
  auto product = parse_stream(product_stream("order-7"));
  ASSERT_TRUE(product);
  EXPECT_EQ(product->what, stream_ref::kind::product);
  EXPECT_EQ(product->id, "order-7");
  auto order = parse_stream(order_stream("o-1"));
  ASSERT_TRUE(order);
  EXPECT_EQ(order->what, stream_ref::kind::order);
  EXPECT_EQ(order->id, "o-1");
  EXPECT_FALSE(parse_stream("products-x"));
  EXPECT_FALSE(parse_stream("orde"));
  EXPECT_FALSE(parse_stream(""));
}

TEST(EventJson, DecodesAnOldShapeEventMissingNewerFieldsAndIgnoresUnknownOnes) {
  envelope env;
  env.seq = 3;
  env.stream = "product-iphone";
  env.type = "ProductDefined";
  // No per_user_limit / sale_starts_at / hold_seconds (added later), plus a field we never had.
  env.data = R"({"product_id":"iphone","name":"iPhone","stock":10,"price_cents":5,"colour":"red"})";
  auto d = decode(env);
  ASSERT_TRUE(d.value) << d.error;
  const auto& p = std::get<ProductDefined>(*d.value);
  EXPECT_EQ(p.per_user_limit, 0);
  EXPECT_EQ(p.sale_starts_at, std::nullopt);
  EXPECT_EQ(p.hold_seconds, 600);
  EXPECT_EQ(p.stock, 10);

  env.stream = "order-o-1";
  env.type = "OrderReserved";
  env.data = R"({"order_id":"o-1","expires_at":"2026-11-21T10:10:00Z","total_cents":7,"x":[1]})";
  d = decode(env);
  ASSERT_TRUE(d.value) << d.error;
  EXPECT_TRUE(std::get<OrderReserved>(*d.value).lines.empty());
  EXPECT_EQ(std::get<OrderReserved>(*d.value).expires_at, t0 + 600'000);
}

TEST(EventJson, ReportsUnknownTypesAndMalformedDataWithoutThrowing) {
  envelope env;
  env.seq = 9;
  env.type = "OrderTeleported";
  env.data = R"({"order_id":"o-1"})";
  auto d = decode(env);
  EXPECT_FALSE(d.value);
  EXPECT_NE(d.error.find("unknown event type 'OrderTeleported'"), std::string::npos) << d.error;

  struct bad_case {
    const char* type;
    const char* data;
  };
  for (auto c : {bad_case{"StockSold", "{not json"}, bad_case{"StockSold", "[1,2]"},
                 bad_case{"StockSold", R"({"product_id":"p","order_id":"o"})"},
                 bad_case{"StockSold", R"({"product_id":"p","order_id":"o","quantity":"two"})"},
                 bad_case{"OrderPlaced",
                          R"({"order_id":"o","user_id":"u","items":[],"placed_at":"yesterday"})"},
                 bad_case{"StockReleased",
                          R"({"product_id":"p","order_id":"o","quantity":1,"reason":"stolen"})"},
                 bad_case{"OrderPaid", "null"}}) {
    env.type = c.type;
    env.data = c.data;
    decode_result r;
    EXPECT_NO_THROW(r = decode(env)) << c.data;
    EXPECT_FALSE(r.value) << c.data;
    EXPECT_NE(r.error.find("seq 9"), std::string::npos) << r.error;
  }
}

TEST(EventJson, NamesReleaseReasonsStably) {
  for (auto r : {release_reason::expired, release_reason::cancelled, release_reason::payment_failed,
                 release_reason::compensation})
    EXPECT_EQ(parse_release_reason(to_string(r)), r);
  EXPECT_EQ(parse_release_reason("lost"), std::nullopt);
}

} // namespace
} // namespace flashsale
