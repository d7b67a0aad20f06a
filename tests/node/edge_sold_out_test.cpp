// Turned away at the edge (node/edge_sold_out), as users meet it: `flashsale serve` with its
// real HAProxy. While a product is sold out, a keyless POST /orders for it alone is answered
// by HAProxy, byte for byte and header for header what the node answers, and the node's own
// request counter does not move; /metrics still counts those buyers. Stock that comes back (a
// cancel, an expiry, a restock) reaches the next buyer within a bound; a HAProxy restart and
// a node restart start from the current sold-out set; keyed, multi-item and malformed bodies
// go on to the node.
#include <signal.h>

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/node/edge_fixture.hpp"

namespace {

using flashsale::testing::eventually;
using flashsale::testing::metric;
using json = nlohmann::json;
using namespace std::chrono_literals;

struct answer {
  int status = 0;
  std::string body;
  httplib::Headers headers;
};

class EdgeSoldOut : public flashsale::testing::EdgeFront {
protected:
  /// One buyer on a connection of its own, as a crowd comes.
  answer post(const std::string& body, const httplib::Headers& headers = {}) {
    auto r = client()->Post("/orders", headers, body, "application/json");
    if (!r)
      return {};
    return {r->status, r->body, r->headers};
  }

  answer buy(const std::string& product, const std::string& user) {
    return post(json{{"user_id", user}, {"product_id", product}, {"quantity", 1}}.dump());
  }

  /// True once HAProxy's map holds `product` (or, with `held` false, no longer holds it).
  bool edge_holds(const std::string& product, bool held = true) {
    auto shown = haproxy("show map " + data("haproxy-sold-out.map"));
    return (shown.find(" " + product + " 0") != std::string::npos) == held;
  }

  /// POST /orders the node's adapter answered (its own counter, any status).
  double node_orders() {
    return metric(metrics(), "flashsale_http_requests_total",
                  {R"(method="POST")", R"(route="/orders")"});
  }

  /// Buys `product` out (`stock` units, one each), then waits for the edge to hold it.
  void sell_out(const std::string& product, int stock, std::vector<std::string>* orders = nullptr) {
    for (int i = 0; i < stock; ++i) {
      auto a = buy(product, "first-" + std::to_string(i));
      ASSERT_EQ(a.status, 201) << a.body;
      if (orders)
        orders->push_back(json::parse(a.body)["order_id"]);
    }
    ASSERT_TRUE(eventually([&] { return edge_holds(product); }, 5s))
        << haproxy("show map " + data("haproxy-sold-out.map"));
  }

  /// How long until a buyer gets a unit of `product` again (buying it), at most `bound`.
  std::chrono::milliseconds until_bought(const std::string& product,
                                         std::chrono::milliseconds bound) {
    auto began = std::chrono::steady_clock::now();
    int n = 0;
    bool bought = eventually(
        [&] { return buy(product, "again-" + std::to_string(++n)).status == 201; }, bound);
    EXPECT_TRUE(bought) << "no buyer got the unit that came back within " << bound.count() << " ms";
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now()
                                                                 - began);
  }
};

std::string headers_of(const answer& a) {
  std::string out;
  for (const auto& [name, value] : a.headers)
    out += name + ": " + value + "\n";
  return out;
}

TEST_F(EdgeSoldOut, SoldOutBuyersAreAnsweredAtTheEdgeExactlyAsTheNodeAnswersAndStillCounted) {
  start();
  define("gone", 1);
  ASSERT_NO_FATAL_FAILURE(sell_out("gone", 1));
  // The node's own answer: a keyed order goes on to it (it may hold a first answer to replay).
  auto from_node =
      post(json{{"user_id", "u-keyed"}, {"product_id", "gone"}, {"quantity", 1}}.dump(),
           {{"Idempotency-Key", "k-1"}});
  ASSERT_EQ(from_node.status, 409) << from_node.body;
  auto before = metrics();
  double node_before = node_orders();
  constexpr int buyers = 20;
  for (int i = 0; i < buyers; ++i) {
    auto user = "u-" + std::to_string(i);
    // Both single-product shapes, in either key order, with JSON whitespace.
    auto body =
        i % 4 == 0   ? json{{"user_id", user}, {"product_id", "gone"}, {"quantity", 1}}.dump()
        : i % 4 == 1 ? R"( { "quantity" : 7 , "product_id":"gone", "user_id":")" + user + "\"}\n"
        : i % 4 == 2
            ? json{{"user_id", user}, {"items", {{{"product_id", "gone"}, {"quantity", 1}}}}}.dump()
            : R"({"items":[ {"quantity":1000,"product_id":"gone"} ],"user_id":")" + user + "\"}";
    auto a = post(body);
    EXPECT_EQ(a.status, 409) << body;
    EXPECT_EQ(a.body, from_node.body) << body;
    EXPECT_EQ(headers_of(a), headers_of(from_node)) << body;
  }
  auto after = metrics();
  EXPECT_EQ(node_orders(), node_before) << "the node saw a buyer the edge should have answered";
  EXPECT_EQ(metric(after, "flashsale_edge_orders_total", {R"(outcome="sold_out")"}), buyers);
  EXPECT_EQ(metric(after, "flashsale_orders_total", {R"(outcome="sold_out")"}),
            metric(before, "flashsale_orders_total", {R"(outcome="sold_out")"}) + buyers);
  EXPECT_EQ(product("gone")["reserved"], 1);
}

TEST_F(EdgeSoldOut, KeyedMultiItemAndMalformedBodiesGoOnToTheNode) {
  start();
  define("gone", 1);
  define("other", 100);
  ASSERT_NO_FATAL_FAILURE(sell_out("gone", 1));
  const std::string u = R"("user_id":"u-1")";
  const std::vector<std::pair<std::string, int>> bodies{
      {"{" + u
           + R"(,"items":[{"product_id":"gone","quantity":1},{"product_id":"other","quantity":1}]})",
       409},
      {"{" + u + R"(,"product_id":"gone","quantity":1,"request_id":"r-1"})", 409},
      // An escape the rules do not read: the node decodes it to "gone".
      {"{" + u + R"(,"product_id":"gon\u0065","quantity":1})", 409},
      {"{" + u + R"(,"product_id":"gone","quantity":0})", 400},
      {"{" + u + R"(,"product_id":"gone","quantity":1001})", 400},
      {"{" + u + R"(,"product_id":"gone","quantity":"1"})", 400},
      {"{" + u + R"(,"product_id":"gone","quantity":1.0})", 400},
      {"{" + u + R"(,"product_id":"gone","quantity":1,"colour":"red"})", 400},
      {"{" + u + R"(,"product_id":"other","product_id":"gone","quantity":1})", 409}, // the last
      {R"({"user_id":"","product_id":"gone","quantity":1})", 400},
      {R"({"user_id":"u 1","product_id":"gone","quantity":1})", 400},
      {R"({"product_id":"gone","quantity":1,"quantity":1})", 400},
      {"{" + u + R"(,"product_id":"gone","items":[{"product_id":"gone","quantity":1}]})", 400},
      {"{" + u + R"(,"items":[{"product_id":"gone","quantity":1,"x":1}]})", 400},
      {"{" + u + R"(,"product_id":"gone","quantity":1)", 400}, // cut short
      {"[" + u + "]", 400},
  };
  for (const auto& [body, status] : bodies) {
    double node_before = node_orders();
    auto a = post(body);
    EXPECT_EQ(a.status, status) << body << "\n" << a.body;
    EXPECT_EQ(node_orders(), node_before + 1) << "not answered by the node: " << body;
  }
  double node_before = node_orders();
  auto keyed = post(json{{"user_id", "u-2"}, {"product_id", "gone"}, {"quantity", 1}}.dump(),
                    {{"Idempotency-Key", "k-2"}});
  EXPECT_EQ(keyed.status, 409);
  EXPECT_EQ(node_orders(), node_before + 1) << "a keyed order goes on to the node";
  // A keyed retry of an order that got its unit is the node's to replay, sold out or not.
  auto first = post(json{{"user_id", "u-3"}, {"product_id", "other"}, {"quantity", 1}}.dump(),
                    {{"Idempotency-Key", "k-3"}});
  ASSERT_EQ(first.status, 201) << first.body;
  define("other", 1); // the one unit left is u-3's hold: sold out
  ASSERT_TRUE(eventually([&] { return edge_holds("other"); }, 5s));
  auto retry = post(json{{"user_id", "u-3"}, {"product_id", "other"}, {"quantity", 1}}.dump(),
                    {{"Idempotency-Key", "k-3"}});
  EXPECT_EQ(retry.status, 201) << retry.body;
  EXPECT_EQ(retry.body, first.body);
}

TEST_F(EdgeSoldOut, StockThatComesBackReachesTheNextBuyerWithinASecond) {
  start();
  define("back", 1);
  std::vector<std::string> orders;
  ASSERT_NO_FATAL_FAILURE(sell_out("back", 1, &orders));
  EXPECT_EQ(buy("back", "turned-away").status, 409);
  // A cancel returns the unit.
  auto cancelled = client()->Post("/orders/" + orders[0] + "/cancel",
                                  json{{"user_id", "first-0"}}.dump(), "application/json");
  ASSERT_TRUE(cancelled);
  ASSERT_EQ(cancelled->status, 200) << cancelled->body;
  EXPECT_LT(until_bought("back", 1000ms).count(), 1000);
  // A restock (a define with more stock).
  ASSERT_TRUE(eventually([&] { return edge_holds("back"); }, 5s));
  define("back", 2);
  EXPECT_LT(until_bought("back", 1000ms).count(), 1000);
  // An expiry: the hold runs out after 1 s, and its unit is back within a second of that.
  define("expiring", 1, {{"hold_seconds", 1}});
  ASSERT_NO_FATAL_FAILURE(sell_out("expiring", 1));
  EXPECT_LT(until_bought("expiring", 3000ms).count(), 2000);
  EXPECT_EQ(product("expiring")["reserved"], 1);
}

TEST_F(EdgeSoldOut, HaproxyRestartAndNodeRestartStartFromTheCurrentSoldOutSet) {
  start();
  define("gone", 1);
  define("back", 1);
  std::vector<std::string> orders;
  ASSERT_NO_FATAL_FAILURE(sell_out("gone", 1));
  ASSERT_NO_FATAL_FAILURE(sell_out("back", 1, &orders));
  int first = haproxy_pid();
  ::kill(first, SIGKILL);
  ASSERT_TRUE(eventually([&] {
    int now = haproxy_pid();
    return now > 0 && now != first && flashsale::testing::process_alive(now);
  })) << node_->output();
  // The new HAProxy loaded the set from the map file.
  ASSERT_TRUE(eventually([&] { return edge_holds("gone") && edge_holds("back"); }, 5s));
  double node_before = node_orders();
  EXPECT_EQ(buy("gone", "after-restart").status, 409);
  EXPECT_EQ(node_orders(), node_before) << "answered by the restarted edge";
  // And it follows changes again.
  auto cancelled = client()->Post("/orders/" + orders[0] + "/cancel",
                                  json{{"user_id", "first-0"}}.dump(), "application/json");
  ASSERT_TRUE(cancelled);
  ASSERT_EQ(cancelled->status, 200) << cancelled->body;
  EXPECT_LT(until_bought("back", 1000ms).count(), 1000);

  // A node restart: the recovered views make the first map.
  node_->signal(SIGTERM);
  ASSERT_TRUE(node_->wait_exit(30s));
  start();
  EXPECT_TRUE(edge_holds("gone")) << "the map HAProxy started with lacks a sold-out product";
  node_before = node_orders();
  EXPECT_EQ(buy("gone", "after-node-restart").status, 409);
  EXPECT_EQ(node_orders(), node_before);
}

} // namespace
