// The replay fast path must yield exactly what the full JSON parser yields, or step aside:
// every event type round-trips through it; old shapes, unknown fields and duplicate keys
// decode as the full parser decodes them; anything unusual falls back and still decodes.
#include <gtest/gtest.h>

#include "events/fast_decode.hpp"
#include "events/time.hpp"

namespace flashsale {
namespace {

std::string data_of(const event& e) {
  return to_envelope(e, 1, 0).data;
}

/// Both decoders on the same JSON; "" when the fast path declined.
std::string fast(std::string_view type, const std::string& json) {
  auto e = fast_decode(type, json);
  return e ? data_of(*e) : "";
}

std::string full(const std::string& type, const std::string& json) {
  envelope env;
  env.type = type;
  env.data = json;
  auto r = decode_full(env);
  return r.value ? data_of(*r.value) : "error: " + r.error;
}

TEST(FastDecode, EveryEventTypeRoundTrips) {
  auto t = *parse_rfc3339("2026-11-21T10:00:00.123Z");
  std::vector<event> all{ProductDefined{"p", "iPhone 17", 100, 99900, 1, t, 600},
                         ProductDefined{"p", "", 0, 0, 0, std::nullopt, 1},
                         StockReserved{"p", "o-1", "u-1", 2, 99900},
                         StockReleased{"p", "o-1", "u-1", 2, release_reason::payment_failed},
                         StockSold{"p", "o-1", "u-1", 2},
                         OrderPlaced{"o-1", "u-1", {{"p", 1}, {"q", 3}}, "key", "hash", t},
                         OrderReserved{"o-1", t, 300, {{"p", 1, 100}, {"q", 2, 100}}},
                         OrderReserved{"o-1", t, 0, {}},
                         OrderRejected{"o-1", "sold_out", "product 'p' is sold out"},
                         OrderPaid{"o-1", "pay-1", "evt-1", -5},
                         OrderCancelled{"o-1", "payment_failed", "pay-1", "evt-1"},
                         OrderExpired{"o-1"},
                         PaymentRejected{"o-1", "pay-1", "evt-2", 300, "order is expired"}};
  for (auto& e : all) {
    auto json = data_of(e);
    EXPECT_EQ(fast(type_name(e), json), json) << json;
  }
}

TEST(FastDecode, OldShapesUnknownFieldsAndDuplicateKeysDecodeAsTheFullParser) {
  std::vector<std::pair<std::string, std::string>> cases{
      {"ProductDefined", R"({"product_id":"p","stock":5})"},
      {"ProductDefined", R"({"product_id":"p","stock":5,"sale_starts_at":null,"extra":7})"},
      {"StockReserved", R"({"product_id":"p","order_id":"o","quantity":1,"new_field":"x"})"},
      {"StockReleased", R"({"product_id":"p","order_id":"o","quantity":1})"},
      {"OrderReserved", R"({"order_id":"o","expires_at":"2026-11-21T10:00:00.000Z"})"},
      {"OrderReserved", R"({"order_id":"o","expires_at":"2026-11-21T10:00:00.000Z","lines":null})"},
      {"OrderReserved",
       R"({"order_id":"o","expires_at":"2026-11-21T10:00:00.000Z","lines":[{"product_id":"p","quantity":2}]})"},
      {"OrderRejected", R"({"order_id":"o"})"},
      {"OrderCancelled", R"({"order_id":"o"})"},
      {"OrderPaid", R"({"order_id":"o","amount_cents":1,"amount_cents":2})"}};
  for (auto& [type, json] : cases)
    EXPECT_EQ(fast(type, json), full(type, json)) << type << " " << json;
}

TEST(FastDecode, StepsAsideForAnythingUnusualAndDecodeStillWorks) {
  std::vector<std::pair<std::string, std::string>> cases{
      {"OrderRejected", R"({"order_id":"o","message":"say \"hi\""})"},          // escape
      {"OrderPaid", R"({"order_id":"o","amount_cents":1.5})"},                  // float
      {"OrderExpired", R"({ "order_id": "o" })"},                               // white space
      {"OrderExpired", R"({"order_id":"o","meta":{"a":1}})"},                   // nested object
      {"OrderExpired", R"({"order_id":"o","flag":true})"},                      // boolean
      {"OrderPaid", R"({"order_id":"o","amount_cents":12345678901234567890})"}, // huge
      {"StockReleased", R"({"product_id":"p","order_id":"o","quantity":1,"reason":"bogus"})"},
      {"OrderExpired", R"({"order_id":5})"},             // wrong type
      {"OrderExpired", R"({})"},                         // missing field
      {"NoSuchEvent", R"({"order_id":"o"})"},            // unknown type
      {"OrderExpired", R"({"order_id":"o"} trailing)"}}; // junk after it
  for (auto& [type, json] : cases) {
    EXPECT_EQ(fast(type, json), "") << "must step aside for " << json;
    envelope env;
    env.type = type;
    env.data = json;
    auto via_decode = decode(env);
    auto via_full = decode_full(env);
    EXPECT_EQ(via_decode.value.has_value(), via_full.value.has_value()) << json;
    EXPECT_EQ(via_decode.error, via_full.error) << json;
  }
}

} // namespace
} // namespace flashsale
