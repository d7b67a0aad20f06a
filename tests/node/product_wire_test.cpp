// The product's two other codecs come from its field list too: the cluster's forwarded define
// and view (node/cluster_wire), and the PUT body parser (http/validation), whose rule for each
// field is the domain's, with the same message.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "events/product.hpp"
#include "http/validation.hpp"
#include "node/cluster_wire.hpp"

namespace flashsale {
namespace {

using nlohmann::json;
constexpr timestamp_ms t0 = 1'795'255'200'000; // 2026-11-21T10:00:00.000Z

TEST(ClusterWire, ForwardsADefineWithEveryField) {
  for (auto starts : {std::optional<timestamp_ms>{}, std::optional<timestamp_ms>{t0 + 3}}) {
    define_product c{"p", "Phone \xC3\xA9", 7, 250, 2, starts, 45};
    auto back = cluster_wire::define_of(json::parse(cluster_wire::define_json(c).dump()));
    EXPECT_TRUE(same_definition(back, c)) << cluster_wire::define_json(c).dump();
  }
}

TEST(ClusterWire, ForwardsTheViewAsHttpShowsIt) {
  product_view v;
  static_cast<product_definition&>(v) = {"p", "Phone", 10, 250, 1, t0, 60};
  v.available = 6;
  v.reserved = 3;
  v.sold = 1;
  auto back = cluster_wire::view_of(json::parse(cluster_wire::view_json(v).dump()));
  EXPECT_EQ(product_view_json(back), product_view_json(v));
  EXPECT_EQ(cluster_wire::view_json(v)["sale_starts_at"], "2026-11-21T10:00:00.000Z");
}

std::string edge_message(const std::string& body) {
  auto p = parse_define_product("p", body, 600);
  auto* r = std::get_if<rejection>(&p);
  return r ? r->message : "accepted";
}

std::string domain_message(const std::string& body) {
  // The body as the edge would take it, bounds unchecked, straight to decide.
  auto j = json::parse(body);
  define_product c;
  c.product_id = "p";
  c.name = j.value("name", std::string("n"));
  c.stock = j.value("stock", std::int64_t{1});
  c.price_cents = j.value("price_cents", std::int64_t{0});
  c.per_user_limit = j.value("per_user_limit", std::int64_t{0});
  c.hold_seconds = j.value("hold_seconds", std::int64_t{600});
  auto d = decide(product_state{}, c);
  return d.rejected ? d.rejected->message : "accepted";
}

TEST(ProductRules, TheEdgeAndTheDomainSayTheSameForEachField) {
  for (const char* body : {
           R"({"name":"n","stock":1})",
           R"({"name":"","stock":1})",
           R"({"name":"n","stock":-1})",
           R"({"name":"n","stock":1000000001})",
           R"({"name":"n","stock":1,"price_cents":-1})",
           R"({"name":"n","stock":1,"price_cents":1000000000001})",
           R"({"name":"n","stock":1,"per_user_limit":-2})",
           R"({"name":"n","stock":1,"hold_seconds":0})",
           R"({"name":"n","stock":1,"hold_seconds":31536001})",
       })
    EXPECT_EQ(edge_message(body), domain_message(body)) << body;
  EXPECT_EQ(edge_message(R"({"name":"n","stock":1,"hold_seconds":0})"),
            "hold_seconds must be an integer 1..31536000");
}

TEST(ProductRules, TheEdgeKeepsItsTypeAndPresenceMessages) {
  EXPECT_EQ(edge_message(R"({"stock":1})"), "name is required");
  EXPECT_EQ(edge_message(R"({"name":3,"stock":1})"), "name must be a string");
  EXPECT_EQ(edge_message(R"({"name":"n"})"), "stock is required");
  EXPECT_EQ(edge_message(R"({"name":"n","stock":1.5})"), "stock must be an integer 0..1000000000");
  EXPECT_EQ(edge_message(R"({"name":"n","stock":1,"available":3})"),
            "'available' is not a known field");
  EXPECT_EQ(edge_message(R"({"name":"n","stock":1,"product_id":"p"})"),
            "'product_id' is not a known field");
  EXPECT_EQ(edge_message(R"({"name":"n","stock":1,"sale_starts_at":5})"),
            "sale_starts_at must be an RFC 3339 timestamp (e.g. 2026-11-21T10:00:00.000Z) or null");
  auto p = parse_define_product("p", R"({"name":"n","stock":1,"hold_seconds":null})", 77);
  ASSERT_TRUE(std::holds_alternative<define_product>(p));
  EXPECT_EQ(std::get<define_product>(p).hold_seconds, 77) << "null is the configured default";
}

} // namespace
} // namespace flashsale
