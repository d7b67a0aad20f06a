// Turned away where they arrive (issue 23 item 1): every node knows every product's
// availability (cluster/availability_board: owners publish, every node watches), so a node
// answers `409 sold_out` itself for a product another node owns, without forwarding, while the
// owner is paused, dead or its partition moving; availability coming back (a cancel, an
// expired hold) reaches the others and their buyers cross to the owner again. Real `flashsale
// serve` processes (bare httplib: the node's own answer, not its edge's) on a real three-server
// JetStream cluster; every process stopped by PID.
#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "tests/cluster/cluster_nodes_fixture.hpp"
#include "tests/node/edge_fixture.hpp"

namespace {

using namespace flashsale::testing;
using steady = std::chrono::steady_clock;

class ClusterAvailabilityTest : public ClusterNodesTest {
protected:
  double forwards(std::size_t m) {
    return metric(call(members[m].port, "GET", "/metrics").text,
                  "flashsale_cluster_forwards_total");
  }

  answer buy(std::size_t m, const std::string& product, const std::string& user) {
    return call(members[m].port, "POST", "/orders",
                json{{"user_id", user}, {"product_id", product}, {"quantity", 1}}.dump());
  }

  /// The owner's exact words for a sold-out product.
  static std::string sold_out_body(const std::string& product) {
    return R"({"error":{"code":"sold_out","message":"product ')" + product
           + R"(' has only 0 units available"}})";
  }
};

TEST_F(ClusterAvailabilityTest, ANonOwnerAnswersSoldOutItselfAndHearsWhenStockComesBack) {
  for (auto name : {"a", "b"})
    ASSERT_NO_FATAL_FAILURE(start_member(name));
  ASSERT_TRUE(eventually([&] { return settled(); }, seconds(40)));
  auto cancelled = product_served_by(0, "cancelled-");
  auto expiring = product_served_by(0, "expiring-");
  ASSERT_NO_FATAL_FAILURE(define(cancelled, 1, 600));
  ASSERT_NO_FATAL_FAILURE(define(expiring, 1, 2));
  auto first = buy(0, cancelled, "first");
  ASSERT_EQ(first.status, 201) << first.text;
  ASSERT_EQ(buy(0, expiring, "first").status, 201);

  // b hears that a sold both out, then answers their buyers itself: the owner's own words,
  // and not one request crosses to a.
  ASSERT_TRUE(eventually([&] { return buy(1, cancelled, "probe").status == 409; }, seconds(5)));
  // A scrape of b's /metrics forwards too (the product gauges of a's partitions): its share.
  auto scraped = forwards(1);
  auto per_scrape = forwards(1) - scraped;
  auto forwarded = scraped + per_scrape;
  for (int i = 0; i < 20; ++i) {
    auto r = buy(1, cancelled, "crowd-" + std::to_string(i));
    ASSERT_EQ(r.status, 409);
    EXPECT_EQ(r.text, sold_out_body(cancelled));
  }
  EXPECT_EQ(forwards(1), forwarded + per_scrape) << "b forwarded a buyer of a sold-out product";
  // A keyed order still crosses: the owner may hold its first answer.
  auto keyed = call(
      members[1].port, "POST", "/orders",
      json{{"user_id", "keyed"}, {"product_id", cancelled}, {"quantity", 1}, {"request_id", "k-1"}}
          .dump());
  EXPECT_EQ(keyed.status, 409) << keyed.text;
  EXPECT_EQ(forwards(1), forwarded + 2 * per_scrape + 1);

  // With a paused, b still answers at once.
  members[0].process->signal(SIGSTOP);
  for (int i = 0; i < 10; ++i) {
    auto began = steady::now();
    auto r = buy(1, cancelled, "while-paused-" + std::to_string(i));
    EXPECT_EQ(r.status, 409) << r.text;
    EXPECT_LT(steady::now() - began, milliseconds(500)) << "b waited for its owner";
  }
  members[0].process->signal(SIGCONT);

  // Stock coming back reaches b: a cancel (through b, forwarded), an expired hold (a's timer).
  auto order_id = first.body["order_id"].get<std::string>();
  auto cancel = call(members[1].port, "POST", "/orders/" + order_id + "/cancel",
                     json{{"user_id", "first"}}.dump());
  ASSERT_EQ(cancel.status, 200) << cancel.text;
  EXPECT_TRUE(
      eventually([&] { return buy(1, cancelled, "after-cancel").status == 201; }, seconds(5)));
  EXPECT_TRUE(
      eventually([&] { return buy(1, expiring, "after-expiry").status == 201; }, seconds(10)));
}

TEST_F(ClusterAvailabilityTest, SoldOutAnswersGoOnWhileTheOwnerIsDeadAndItsPartitionMoves) {
  for (auto name : {"a", "b"})
    ASSERT_NO_FATAL_FAILURE(start_member(name));
  ASSERT_TRUE(eventually([&] { return settled(); }, seconds(40)));
  auto gone = product_served_by(0, "gone-");
  ASSERT_NO_FATAL_FAILURE(define(gone, 1, 600));
  ASSERT_EQ(buy(0, gone, "first").status, 201);
  ASSERT_TRUE(eventually([&] { return buy(1, gone, "probe").status == 409; }, seconds(5)));

  members[0].process->signal(SIGKILL);
  members[0].process->wait_exit(seconds(10));
  members[0].process.reset();
  // Every buyer at b answered 409 at once, before, during and after b takes a's partitions.
  std::map<int, int> statuses;
  auto until = steady::now() + milliseconds(lease_ms * 3);
  bool moved = false;
  while (steady::now() < until || !moved) {
    auto began = steady::now();
    auto r = buy(1, gone, "crowd");
    ++statuses[r.status];
    EXPECT_LT(steady::now() - began, milliseconds(500));
    moved = moved || settled();
    if (steady::now() > until + seconds(30))
      break;
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_TRUE(moved) << "b never took a's partitions";
  EXPECT_EQ(statuses.size(), 1u);
  EXPECT_GT(statuses[409], 0);
  // b now owns the product; its own view agrees.
  auto v = call(members[1].port, "GET", "/products/" + gone);
  EXPECT_EQ(v.body["available"], 0) << v.text;
  EXPECT_EQ(v.body["reserved"], 1) << v.text;
}

} // namespace
