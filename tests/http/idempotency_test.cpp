// Idempotency-Key on POST /orders over HTTP: racing retries meet in one order, replays carry
// Idempotent-Replayed and the original status and body (also across a node restart), and a
// reused key with a different body is 422.
#include <thread>
#include <vector>

#include "tests/http/http_fixture.hpp"

using namespace flashsale;
using flashsale::testing::http_node;
using json = nlohmann::json;
namespace t = flashsale::testing;

TEST(HttpIdempotency, FortyRacingIdenticalRequestsCreateOneOrder) {
  t::temp_dir dir;
  http_node n(dir.path());
  auto admin = n.client();
  ASSERT_EQ(t::define(*admin, "p", {{"name", "p"}, {"stock", 100}})->status, 201);
  constexpr int racers = 40;
  std::vector<int> status(racers);
  std::vector<std::string> bodies(racers);
  std::vector<bool> replayed(racers);
  std::vector<std::thread> threads;
  for (int i = 0; i < racers; ++i)
    threads.emplace_back([&, i] {
      auto c = n.client();
      auto r = t::order(*c, "u-1", "p", 1, "key-1");
      if (!r)
        return;
      status[i] = r->status;
      bodies[i] = r->body;
      replayed[i] = r->get_header_value("Idempotent-Replayed") == "true";
    });
  for (auto& th : threads)
    th.join();
  int replays = 0;
  for (int i = 0; i < racers; ++i) {
    EXPECT_EQ(status[i], 201) << bodies[i];
    EXPECT_EQ(bodies[i], bodies[0]);
    replays += replayed[i];
  }
  EXPECT_EQ(replays, racers - 1);
  EXPECT_EQ(t::counts(*admin, "p"), "100/99/1/0");
}

TEST(HttpIdempotency, ReplaysAcrossARestartAndRefusesADifferentBody) {
  t::temp_dir dir;
  std::string first_body;
  {
    http_node n(dir.path());
    auto c = n.client();
    ASSERT_EQ(t::define(*c, "p", {{"name", "p"}, {"stock", 5}})->status, 201);
    auto r = t::order(*c, "u-1", "p", 2, "key-1");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 201);
    first_body = r->body;
    // request_id in the body is the same key.
    auto same = c->Post("/orders",
                        R"({"user_id":"u-1","product_id":"p","quantity":2,"request_id":"key-1"})",
                        "application/json");
    ASSERT_TRUE(same);
    EXPECT_EQ(same->status, 201);
    EXPECT_EQ(same->get_header_value("Idempotent-Replayed"), "true");
    EXPECT_EQ(same->body, first_body);
  }
  http_node again(dir.path());
  auto c = again.client();
  auto before = again.the_node().stats().last_seq;
  auto r = t::order(*c, "u-1", "p", 2, "key-1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, first_body);
  EXPECT_EQ(r->get_header_value("Idempotent-Replayed"), "true");
  EXPECT_EQ(r->get_header_value("Location"),
            "/orders/" + t::body_of(r)["order_id"].get<std::string>());
  auto different = t::order(*c, "u-1", "p", 3, "key-1");
  ASSERT_TRUE(different);
  EXPECT_EQ(different->status, 422);
  EXPECT_EQ(t::error_code(different), "idempotency_key_reused");
  EXPECT_EQ(again.the_node().stats().last_seq, before);
  EXPECT_EQ(t::counts(*c, "p"), "5/3/2/0");
  // The key is scoped to the user: another user's same key is a new order.
  EXPECT_EQ(t::order(*c, "u-2", "p", 1, "key-1")->status, 201);
}

TEST(HttpIdempotency, AKeyedRejectionIsDecidedAgainOnRetry) {
  // A rejection changed nothing, so nothing is stored for its key (as Stripe keeps only the
  // results of requests that executed): a retry is decided afresh, and succeeds once stock
  // is back.
  t::temp_dir dir;
  http_node n(dir.path());
  auto c = n.client();
  ASSERT_EQ(t::define(*c, "p", {{"name", "p"}, {"stock", 1}})->status, 201);
  auto taken = t::order(*c, "u-1", "p", 1);
  ASSERT_EQ(taken->status, 201);
  auto first = t::order(*c, "u-2", "p", 1, "k");
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 409);
  EXPECT_EQ(t::error_code(first), "sold_out");
  auto again = t::order(*c, "u-2", "p", 1, "k");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 409);
  EXPECT_FALSE(again->has_header("Idempotent-Replayed"));
  auto order_id = t::body_of(taken)["order_id"].get<std::string>();
  ASSERT_EQ(c->Post(("/orders/" + order_id + "/cancel").c_str(), R"({"user_id":"u-1"})",
                    "application/json")
                ->status,
            200);
  auto later = t::order(*c, "u-2", "p", 1, "k");
  ASSERT_TRUE(later);
  EXPECT_EQ(later->status, 201) << later->body;
  auto replay = t::order(*c, "u-2", "p", 1, "k");
  EXPECT_EQ(replay->status, 201);
  EXPECT_EQ(replay->get_header_value("Idempotent-Replayed"), "true");
  EXPECT_EQ(replay->body, later->body);
}

TEST(HttpIdempotency, AKeyedRetryIsDecidedAgainAfterAnItemGaveItsHoldBack) {
  // A two-item order refused for its second item gives the first item's hold back. The key's
  // order id is then spent (a product never holds again for an id it released): a retry is
  // decided afresh under the key's next id, not refused 409 invalid_state. The same happens
  // when a commit fails after the hold was durable and recovery gives it back (tests/chaos
  // seed 14).
  t::temp_dir dir;
  http_node n(dir.path());
  auto c = n.client();
  ASSERT_EQ(t::define(*c, "a", {{"name", "a"}, {"stock", 5}})->status, 201);
  ASSERT_EQ(t::define(*c, "b", {{"name", "b"}, {"stock", 1}})->status, 201);
  auto both = [&] {
    json body{{"user_id", "u-1"},
              {"items",
               {{{"product_id", "a"}, {"quantity", 1}}, {{"product_id", "b"}, {"quantity", 2}}}}};
    return c->Post("/orders", httplib::Headers{{"Idempotency-Key", "k"}}, body.dump(),
                   "application/json");
  };
  auto first = both();
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 409) << first->body;
  EXPECT_EQ(t::error_code(first), "sold_out");
  EXPECT_EQ(t::counts(*c, "a"), "5/5/0/0");
  ASSERT_EQ(t::define(*c, "b", {{"name", "b"}, {"stock", 2}})->status, 200);
  auto again = both();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 201) << again->body;
  EXPECT_FALSE(again->has_header("Idempotent-Replayed"));
  auto replay = both();
  ASSERT_TRUE(replay);
  EXPECT_EQ(replay->status, 201);
  EXPECT_EQ(replay->get_header_value("Idempotent-Replayed"), "true");
  EXPECT_EQ(replay->body, again->body);
  EXPECT_EQ(t::counts(*c, "a"), "5/4/1/0");
  EXPECT_EQ(t::counts(*c, "b"), "2/0/2/0");
}
