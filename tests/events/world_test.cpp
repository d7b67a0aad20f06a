// The fold over a whole log (events/world.hpp): dispatch, decode errors, order counts,
// forgetting settled orders, the invariant checks of `replay --verify`, and pending work.
#include <gtest/gtest.h>

#include "event_log.hpp"
#include "events/world.hpp"
#include "events/world_snapshot.hpp"
#include "render.hpp"

namespace flashsale {
namespace {

using test::event_log;

constexpr timestamp_ms t0 = 1'000'000;

struct WorldFold : ::testing::Test {
  event_log log;
  world w;

  void add(const event& e, timestamp_ms at = t0) { apply(w, log.append(e, at)); }

  void define(const char* product, std::int64_t stock, std::int64_t limit = 0) {
    add(ProductDefined{product, product, stock, 100, limit, std::nullopt, 600});
  }

  // A placed and fully reserved one-item order.
  void reserve(const char* order, const char* user, const char* product, std::int64_t qty) {
    add(OrderPlaced{order, user, {{product, qty}}, "", "h", t0});
    add(StockReserved{product, order, user, qty, 100});
    add(OrderReserved{order, t0 + 600'000, qty * 100, {{product, qty, 100}}});
  }

  std::string violations() {
    std::string out;
    for (const auto& v : check_invariants(w))
      out += v + "\n";
    return out;
  }

  std::string work() {
    std::string out;
    for (const auto& s : pending_work(w))
      out += std::string(s.action == pending_step::resume_placement ? "resume"
                         : s.action == pending_step::sell           ? "sell"
                                                                    : "release")
             + ":" + s.order_id + (s.product_id.empty() ? "" : ":" + s.product_id)
             + (s.action == pending_step::release ? std::string(":") + to_string(s.reason) : "")
             + " ";
    return out;
  }
};

TEST_F(WorldFold, FoldsProductsAndOrdersFromTheLog) {
  define("p1", 10);
  reserve("o1", "u1", "p1", 3);
  add(OrderPaid{"o1", "pay-1", "evt-1", 300}, t0 + 5);
  add(StockSold{"p1", "o1", "u1", 3}, t0 + 6);
  EXPECT_EQ(w.events, 6);
  EXPECT_EQ(w.last_seq, 6);
  EXPECT_EQ(test::render(w.products["p1"]),
            "p1 v3 'p1' stock=10 avail=7 res=0 sold=3 limit=0 price=100 hold_s=600 starts=-1 "
            "holds[ o1:u1:3@100:sold ] users[ u1:3 ]");
  EXPECT_EQ(w.orders["o1"].status, order_status::paid);
  EXPECT_EQ(w.orders["o1"].updated_at, t0 + 5);
  EXPECT_EQ(w.orders["o1"].version, 3);
  EXPECT_EQ(violations(), "");
  EXPECT_EQ(work(), "");
}

TEST_F(WorldFold, SnapshotEntriesCountOrdersHoldsAndUsers) {
  define("p1", 10);
  define("p2", 10);
  EXPECT_EQ(snapshot_entries(w), 0);
  reserve("o1", "u1", "p1", 1);
  reserve("o2", "u1", "p2", 1);
  reserve("o3", "u2", "p2", 1);
  // 3 orders; holds 1 + 2; users 1 (u1 on p1) + 2 (u1, u2 on p2)
  EXPECT_EQ(snapshot_entries(w), 3 + 3 + 3);
}

TEST_F(WorldFold, RecordsUndecodableEnvelopesAndGoesOn) {
  define("p1", 10);
  envelope bad;
  bad.seq = 2;
  bad.type = "Teleported";
  bad.data = "{}";
  apply(w, bad);
  envelope misfiled = to_envelope(StockSold{"p1", "o1", "u1", 1}, 2, t0);
  misfiled.seq = 3;
  misfiled.stream = "product-p2";
  apply(w, misfiled);
  define("p2", 1);
  EXPECT_EQ(w.events, 4);
  ASSERT_EQ(w.decode_errors.size(), 2u);
  EXPECT_NE(w.decode_errors[0].find("Teleported"), std::string::npos);
  EXPECT_NE(w.decode_errors[1].find("stored in stream product-p2"), std::string::npos);
  EXPECT_EQ(w.products["p1"].sold, 0);
  EXPECT_EQ(w.products.size(), 2u);
}

TEST_F(WorldFold, CountsEveryOrderByCurrentStatus) {
  define("p1", 10);
  reserve("o1", "u1", "p1", 1);
  reserve("o2", "u2", "p1", 1);
  add(OrderPlaced{"o3", "u3", {{"p1", 1}}, "", "h", t0});
  add(OrderExpired{"o2"});
  add(OrderPlaced{"o4", "u4", {{"p1", 1}}, "", "h", t0});
  add(OrderRejected{"o4", "sold_out", ""});
  EXPECT_EQ(test::render(w).substr(test::render(w).rfind("counts")),
            "counts pending=1 reserved=1 expired=1 rejected=1");
}

TEST_F(WorldFold, ForgetsSettledOrdersOnceTheirStockIsSettled) {
  w.forget_settled_orders = true;
  define("p1", 10);
  reserve("o1", "u1", "p1", 2);
  add(OrderExpired{"o1"});
  EXPECT_EQ(w.orders.count("o1"), 1u); // still holds units: recovery must release them
  EXPECT_EQ(work(), "release:o1:p1:expired ");
  add(StockReleased{"p1", "o1", "u1", 2, release_reason::expired});
  EXPECT_EQ(w.orders.count("o1"), 0u);
  EXPECT_EQ(w.order_counts[order_status::expired], 1);
  // A late payment for the forgotten order is counted but does not resurrect it.
  add(PaymentRejected{"o1", "pay", "evt", 200, "order is expired"});
  EXPECT_EQ(w.orders.count("o1"), 0u);
  EXPECT_EQ(w.events, 7);
  add(OrderPlaced{"o2", "u2", {{"p1", 1}}, "", "h", t0});
  add(OrderRejected{"o2", "sale_not_started", ""});
  EXPECT_EQ(w.orders.count("o2"), 0u); // rejected with nothing held
  EXPECT_EQ(violations(), "");
}

TEST_F(WorldFold, ListsPendingWorkForCrashRecovery) {
  define("p1", 10);
  define("p2", 10);
  add(OrderPlaced{"a-pending", "u1", {{"p1", 1}}, "", "h", t0});
  reserve("b-paid", "u2", "p1", 1);
  add(OrderPaid{"b-paid", "pay", "evt-1", 100});
  reserve("c-expired", "u3", "p2", 1);
  add(OrderExpired{"c-expired"});
  reserve("d-failed", "u4", "p2", 1);
  add(OrderCancelled{"d-failed", "payment_failed", "pay", "evt-2"});
  reserve("e-cancelled", "u5", "p1", 1);
  add(OrderCancelled{"e-cancelled", "user", "", ""});
  add(OrderPlaced{"f-rejected", "u6", {{"p1", 1}, {"p2", 1}}, "", "h", t0});
  add(StockReserved{"p1", "f-rejected", "u6", 1, 100});
  add(OrderRejected{"f-rejected", "sold_out", "p2"});
  EXPECT_EQ(work(), "resume:a-pending sell:b-paid:p1 release:c-expired:p2:expired "
                    "release:d-failed:p2:payment_failed release:e-cancelled:p1:cancelled "
                    "release:f-rejected:p1:compensation ");
  EXPECT_EQ(violations(), ""); // unfinished work is not a violation
}

TEST_F(WorldFold, DetectsOversellAndCountMismatches) {
  define("p1", 1);
  reserve("o1", "u1", "p1", 1);
  reserve("o2", "u2", "p1", 1); // a log no decide would write
  EXPECT_EQ(violations(),
            "product 'p1': negative count (stock 1, available -1, reserved 2, sold 0)\n");
}

TEST_F(WorldFold, DetectsAReleaseOfUnitsNeverHeld) {
  define("p1", 5);
  add(StockReleased{"p1", "ghost", "u1", 2, release_reason::expired});
  EXPECT_EQ(violations(),
            "product 'p1': negative count (stock 5, available 7, reserved -2, sold 0)\n"
            "product 'p1': reserved -2 != held units 0\n"
            "product 'p1': per-user units disagree with the holds\n"
            "product 'p1': user 'u1' holds a negative count\n");
}

TEST_F(WorldFold, DetectsUsersOverTheirLimit) {
  define("p1", 5, 1);
  reserve("o1", "u1", "p1", 1);
  reserve("o2", "u1", "p1", 1);
  EXPECT_EQ(violations(), "product 'p1': user 'u1' holds 2 units, over the limit 1\n");
}

TEST_F(WorldFold, DetectsOrdersAndProductsDisagreeing) {
  define("p1", 5);
  reserve("o1", "u1", "p1", 1);
  add(StockSold{"p1", "o1", "u1", 1}); // sold while the order is only reserved
  add(OrderPlaced{"o2", "u2", {{"p1", 2}}, "", "h", t0});
  add(OrderReserved{"o2", t0, 200, {{"p1", 2, 100}}}); // reserved without a hold
  EXPECT_EQ(violations(), "order 'o1': is reserved but its hold on 'p1' is sold\n"
                          "order 'o2': is reserved but product 'p1' holds nothing for it\n"
                          "product 'p1': sold units to order 'o1', which is reserved\n");
}

TEST_F(WorldFold, AnItemOfAProductInAnotherLogIsCheckedThereNotHere) {
  // A cluster partition's log: the cart's second product lives in another partition's log.
  define("p1", 5);
  reserve("o1", "u1", "p1", 1);
  add(OrderPlaced{"o2", "u2", {{"p1", 1}, {"elsewhere", 1}}, "", "h", t0});
  add(StockReserved{"p1", "o2", "u2", 1, 100});
  add(OrderReserved{"o2", t0, 200, {{"p1", 1, 100}, {"elsewhere", 1, 100}}});
  EXPECT_EQ(violations(), "");
  add(StockReleased{"p1", "o2", "u2", 1, release_reason::compensation}); // but p1 is here
  EXPECT_EQ(violations(), "order 'o2': is reserved but its hold on 'p1' is released\n");
}

TEST_F(WorldFold, AHoldWhoseOrderNeverCommittedIsPendingWorkNotAViolation) {
  // A multi-item placement holds item by item and commits its order last: a crash in between
  // leaves this, and recovery gives it back.
  define("p1", 5);
  add(StockReserved{"p1", "o3", "u3", 1, 100});
  EXPECT_EQ(violations(), "");
  EXPECT_EQ(orphan_holds(w), (std::vector<std::pair<std::string, std::string>>{{"p1", "o3"}}));
  auto steps = pending_work(w);
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].action, pending_step::release);
  EXPECT_EQ(steps[0].order_id + " " + steps[0].product_id, "o3 p1");
  EXPECT_EQ(steps[0].reason, release_reason::compensation);
}

TEST_F(WorldFold, DetectsAPaidOrderWhoseUnitsWereReleased) {
  define("p1", 5);
  reserve("o1", "u1", "p1", 1);
  add(OrderPaid{"o1", "pay", "evt", 100});
  add(StockReleased{"p1", "o1", "u1", 1, release_reason::expired});
  EXPECT_EQ(violations(), "order 'o1': is paid but its hold on 'p1' is released\n");
}

} // namespace
} // namespace flashsale
