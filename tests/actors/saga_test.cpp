// Order sagas on a real node (real store, real actors, manual clock): every path an order can
// take, compensation, expiry, late payments, duplicate webhooks, and races for the last unit.
#include <atomic>
#include <thread>

#include "tests/actors/node_fixture.hpp"

using namespace flashsale;
using namespace std::chrono_literals;
using flashsale::testing::eventually;

namespace {

class Saga : public flashsale::testing::node_fixture {};

payment_succeeded paid(const std::string& event_id, std::optional<std::int64_t> amount = {}) {
  return payment_succeeded{event_id, "pay-" + event_id, amount};
}

} // namespace

TEST_F(Saga, SingleItemOrderIsReservedAndAnsweredWithTheOrderView) {
  define("iphone", 10, 0, 99900);
  auto a = place("u-1", {{"iphone", 2}});
  ASSERT_EQ(a.status, 201) << a.body;
  EXPECT_FALSE(a.replayed);
  auto view = nlohmann::json::parse(a.body);
  EXPECT_EQ(view["status"], "reserved");
  EXPECT_EQ(view["total_cents"], 2 * 99900);
  EXPECT_EQ(view["expires_at"], "2026-11-21T10:10:00.000Z");
  EXPECT_EQ(stock_of("iphone"), "8/2/0 of 10");
  EXPECT_EQ(status_of(order_id_of(a)), "reserved") << "the answer is durable when it is sent";
}

TEST_F(Saga, MultiItemOrderReservesEveryItem) {
  define("a", 5);
  define("b", 5);
  define("c", 5);
  auto a = place("u-1", {{"a", 1}, {"b", 2}, {"c", 3}});
  ASSERT_EQ(a.status, 201) << a.body;
  EXPECT_EQ(stock_of("a") + " " + stock_of("b") + " " + stock_of("c"),
            "4/1/0 of 5 3/2/0 of 5 2/3/0 of 5");
}

TEST_F(Saga, SoldOutOnSecondOfThreeItemsCompensatesTheOthers) {
  define("a", 5);
  define("b", 1);
  define("c", 5);
  ASSERT_EQ(place("u-0", {{"b", 1}}).status, 201);
  auto a = place("u-1", {{"a", 1}, {"b", 1}, {"c", 1}});
  EXPECT_EQ(a.status, 409);
  EXPECT_EQ(error_code_of(a), "sold_out") << a.body;
  EXPECT_NE(a.body.find("b"), std::string::npos) << "the message names the product";
  EXPECT_EQ(stock_of("a") + " " + stock_of("b") + " " + stock_of("c"),
            "5/0/0 of 5 0/1/0 of 1 5/0/0 of 5")
      << "every unit the saga got is given back before it answers";
}

TEST_F(Saga, RejectionsWriteNothingButTheCompensationOfWhatWasBrieflyHeld) {
  define("a", 1);
  define("b", 5);
  define("c", 5, /*per_user_limit=*/1);
  ASSERT_EQ(place("u-0", {{"a", 1}}).status, 201);
  ASSERT_EQ(place("u-9", {{"c", 1}}).status, 201);
  n().flush();
  auto seq = n().stats().last_seq;
  EXPECT_EQ(error_code_of(place("u-1", {{"a", 1}})), "sold_out");
  EXPECT_EQ(error_code_of(place("u-2", {{"a", 1}}, "key-2")), "sold_out");
  EXPECT_EQ(error_code_of(place("u-3", {{"ghost", 1}})), "unknown_product");
  EXPECT_EQ(error_code_of(place("u-9", {{"c", 1}})), "limit_exceeded") << "decided by the actor";
  n().flush();
  EXPECT_EQ(events_after(seq), std::vector<std::string>{}) << "a rejection changes nothing";
  // b is held first, then c refuses: only b's brief hold and its release are in the log.
  EXPECT_EQ(error_code_of(place("u-9", {{"b", 1}, {"c", 1}})), "limit_exceeded");
  n().flush();
  EXPECT_EQ(events_after(seq),
            (std::vector<std::string>{"product-b StockReserved", "product-b StockReleased"}));
  EXPECT_EQ(stock_of("b"), "5/0/0 of 5");
}

TEST_F(Saga, ASingleItemOrderCommitsItsReservationAndItsOrderInOneTransaction) {
  define("a", 5);
  n().flush();
  auto seq = n().stats().last_seq;
  auto a = place("u-1", {{"a", 1}});
  ASSERT_EQ(a.status, 201);
  auto id = order_id_of(a);
  EXPECT_EQ(events_after(seq),
            (std::vector<std::string>{"product-a StockReserved", "order-" + id + " OrderPlaced",
                                      "order-" + id + " OrderReserved"}));
  EXPECT_EQ(n().stats().saga_actors, 0) << "no saga took part";
}

TEST_F(Saga, UnknownProductRejectsTheWholeOrder) {
  define("a", 5);
  auto a = place("u-1", {{"a", 1}, {"ghost", 1}});
  EXPECT_EQ(a.status, 404);
  EXPECT_EQ(error_code_of(a), "unknown_product");
  EXPECT_NE(a.body.find("ghost"), std::string::npos);
  EXPECT_EQ(stock_of("a"), "5/0/0 of 5");
}

TEST_F(Saga, PerUserLimitCountsHoldsAndPurchases) {
  define("a", 10, 2);
  auto first = place("u-1", {{"a", 1}});
  ASSERT_EQ(first.status, 201);
  ASSERT_EQ(command(order_id_of(first), paid("e1")).status, 200);
  ASSERT_EQ(place("u-1", {{"a", 1}}).status, 201);
  auto third = place("u-1", {{"a", 1}});
  EXPECT_EQ(third.status, 409);
  EXPECT_EQ(error_code_of(third), "limit_exceeded");
  EXPECT_EQ(place("u-2", {{"a", 2}}).status, 201) << "the limit is per user";
}

TEST_F(Saga, PaymentSuccessMarksPaidAndSellsTheHeldUnits) {
  define("a", 3, 0, 500);
  auto order = order_id_of(place("u-1", {{"a", 2}}));
  auto a = command(order, paid("evt-1", 1000));
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, R"({"result":"applied"})");
  EXPECT_EQ(status_of(order), "paid");
  EXPECT_EQ(stock_of("a"), "1/0/2 of 3") << "sold by the time the webhook is answered";
  EXPECT_EQ(n().order(order).state->payment_id, "pay-evt-1");
}

TEST_F(Saga, PaymentWithWrongAmountChangesNothing) {
  define("a", 3, 0, 500);
  auto order = order_id_of(place("u-1", {{"a", 1}}));
  auto a = command(order, paid("evt-1", 499));
  EXPECT_EQ(a.status, 409);
  EXPECT_EQ(error_code_of(a), "amount_mismatch");
  EXPECT_EQ(status_of(order), "reserved");
  EXPECT_EQ(stock_of("a"), "2/1/0 of 3");
}

TEST_F(Saga, PaymentFailureCancelsAndReturnsTheStock) {
  define("a", 3);
  auto order = order_id_of(place("u-1", {{"a", 2}}));
  auto a = command(order, payment_failed{"evt-9", "pay-9"});
  EXPECT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(status_of(order), "cancelled");
  EXPECT_EQ(stock_of("a"), "3/0/0 of 3");
}

TEST_F(Saga, UserCancelReturnsStockAndOtherUsersAreForbidden) {
  define("a", 3);
  auto order = order_id_of(place("u-1", {{"a", 1}}));
  auto stranger = command(order, cancel_order{"u-2"});
  EXPECT_EQ(stranger.status, 403);
  EXPECT_EQ(error_code_of(stranger), "forbidden");
  auto a = command(order, cancel_order{"u-1"});
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(nlohmann::json::parse(a.body)["status"], "cancelled");
  EXPECT_EQ(stock_of("a"), "3/0/0 of 3");
  auto again = command(order, cancel_order{"u-1"});
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(error_code_of(again), "invalid_state") << "a terminal status never changes";
}

TEST_F(Saga, UnpaidHoldExpiresAndTheStockReturns) {
  define("a", 2, 0, 100, /*hold_seconds=*/60);
  auto order = order_id_of(place("u-1", {{"a", 2}}));
  advance(59s);
  EXPECT_EQ(status_of(order), "reserved");
  advance(1s);
  EXPECT_TRUE(eventually([&] { return stock_of("a") == "2/0/0 of 2"; })) << stock_of("a");
  EXPECT_EQ(status_of(order), "expired");
}

TEST_F(Saga, LatePaymentAfterExpiryIsRejectedForRefund) {
  define("a", 1, 0, 100, 60);
  auto order = order_id_of(place("u-1", {{"a", 1}}));
  advance(61s);
  ASSERT_TRUE(eventually([&] { return status_of(order) == "expired"; }));
  auto a = command(order, paid("late-1"));
  EXPECT_EQ(a.status, 409);
  EXPECT_EQ(error_code_of(a), "invalid_state");
  auto o = n().order(order).state;
  EXPECT_EQ(to_string(o->status), std::string("expired"));
  EXPECT_EQ(o->history.back().type, "PaymentRejected") << "recorded so it can be refunded";
  // The expiry's release runs after OrderExpired commits, concurrently with the late payment:
  // its StockReleased may commit after PaymentRejected (seen once, under a loaded ctest -j2).
  EXPECT_TRUE(eventually([&] { return stock_of("a") == "1/0/0 of 1"; })) << stock_of("a");
  auto again = command(order, paid("late-1"));
  EXPECT_EQ(again.body, R"({"result":"duplicate"})") << "the same webhook event is not re-recorded";
}

TEST_F(Saga, DuplicateWebhookEventIsAppliedOnce) {
  define("a", 2);
  auto order = order_id_of(place("u-1", {{"a", 1}}));
  ASSERT_EQ(command(order, paid("evt-1")).body, R"({"result":"applied"})");
  auto before = n().stats().last_seq;
  EXPECT_EQ(command(order, paid("evt-1")).body, R"({"result":"duplicate"})");
  EXPECT_EQ(n().stats().last_seq, before) << "a duplicate writes nothing";
  EXPECT_EQ(stock_of("a"), "1/0/1 of 2");
}

TEST_F(Saga, SameIdempotencyKeyReplaysAndDifferentBodyIsRejected) {
  define("a", 5);
  auto first = place("u-1", {{"a", 1}}, "key-1");
  ASSERT_EQ(first.status, 201);
  auto again = place("u-1", {{"a", 1}}, "key-1");
  EXPECT_EQ(again.status, 201);
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(stock_of("a"), "4/1/0 of 5");
  auto reused = place("u-1", {{"a", 2}}, "key-1");
  EXPECT_EQ(reused.status, 422);
  EXPECT_EQ(error_code_of(reused), "idempotency_key_reused");
  EXPECT_EQ(place("u-2", {{"a", 1}}, "key-1").status, 201) << "keys are scoped to the user";
}

TEST_F(Saga, IdempotentReplaySurvivesARestart) {
  define("a", 5);
  auto first = place("u-1", {{"a", 1}}, "key-1");
  ASSERT_EQ(first.status, 201);
  restart();
  auto again = place("u-1", {{"a", 1}}, "key-1");
  EXPECT_EQ(again.status, 201);
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(stock_of("a"), "4/1/0 of 5");
}

TEST_F(Saga, AReservedOrderKeepsNoActorAndIsReadFromTheLogWhenSomethingHappens) {
  define("a", 5);
  auto order = order_id_of(place("u-1", {{"a", 1}}));
  auto keyed = order_id_of(place("u-1", {{"a", 1}}, "k-1"));
  EXPECT_TRUE(eventually([&] { return n().stats().saga_actors == 0; }))
      << "orders waiting for payment are in the log, not in actors";
  ASSERT_EQ(command(order, paid("e")).status, 200);
  ASSERT_EQ(command(keyed, paid("e2")).status, 200);
  EXPECT_EQ(stock_of("a"), "3/0/2 of 5");
  EXPECT_TRUE(eventually([&] { return n().stats().saga_actors == 0; }));
  EXPECT_EQ(command(order, paid("e")).body, R"({"result":"duplicate"})")
      << "a passivated order is read from the log to answer";
  EXPECT_EQ(command("o-nobody", paid("e")).status, 404);
}

TEST_F(Saga, ConcurrentSagasCompeteForTheLastUnitExactlyOneWins) {
  constexpr int rounds = 1000;
  constexpr int competitors = 3;
  for (int round = 0; round < rounds; ++round)
    define("p" + std::to_string(round), 1);
  std::atomic<int> winners{0}, sold_out{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < competitors; ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < rounds; ++round) {
        auto a = place("u-" + std::to_string(t), {{"p" + std::to_string(round), 1}});
        if (a.status == 201)
          ++winners;
        else if (error_code_of(a) == "sold_out")
          ++sold_out;
        else
          ++other;
      }
    });
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(winners, rounds);
  EXPECT_EQ(sold_out, rounds * (competitors - 1));
  EXPECT_EQ(other, 0);
  for (int round = 0; round < rounds; ++round)
    ASSERT_EQ(stock_of("p" + std::to_string(round)), "0/1/0 of 1");
}

TEST_F(Saga, ExpiryTimerSurvivesAClockBehindItsTimers) {
  // Real timers only (no check_expiries). The scheduler arms a delayed tick for at most 1 s
  // ahead of the clock. Here the clock does not move while that second passes, as a wall
  // clock stepped back by NTP would not: the tick arrives "early". The scheduler must still
  // re-arm; it used to believe its timer was pending and armed none, so nothing expired.
  define("a", 1, 0, 100, 60);
  auto order = order_id_of(place("u-1", {{"a", 1}}));
  // From the answer on, only the scheduler reads the clock, once per tick: the tick the new
  // hold sent it (it arms the timer; it may have run before the answer), then its timer's.
  // Two reads after the answer, at least one was the timer's, with the clock still at t0. A
  // scheduler that does not re-arm after that early tick never reads it again.
  auto reads = clock_.reads();
  ASSERT_TRUE(eventually([&] { return clock_.reads() >= reads + 2; }, 5s))
      << "the scheduler's timer fired at most once: reads " << clock_.reads() - reads;
  clock_.advance(61s); // past expires_at; only the scheduler's timer sees it
  EXPECT_TRUE(eventually([&] { return status_of(order) == "expired"; }, 10s)) << status_of(order);
}
