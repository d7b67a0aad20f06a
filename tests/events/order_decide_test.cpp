// The order saga's rules (events/order.hpp): every transition and rejection of
// place / confirm / reject / pay / fail / cancel / expire, idempotency, and apply.
#include <gtest/gtest.h>

#include "events/order.hpp"
#include "render.hpp"

namespace flashsale {
namespace {

using test::render;

constexpr timestamp_ms t0 = 1'000'000;
constexpr timestamp_ms expiry = t0 + 600'000;

// Decides and applies, as the saga actor does (recorded_at = now).
template <class Command>
std::string run(order_state& s, const Command& c, timestamp_ms now = t0) {
  decision d = decide(s, c, now);
  for (const auto& e : d.events)
    apply(s, e, now);
  return render(d);
}

place_order two_items(const char* hash = "h1") {
  return place_order{"o1", "u1", {{"p1", 2}, {"p2", 1}}, "key-1", hash};
}

confirm_reservation priced() {
  return confirm_reservation{expiry, {{"p1", 2, 100}, {"p2", 1, 50}}};
}

order_state pending() {
  order_state s;
  EXPECT_EQ(run(s, two_items()), "OrderPlaced");
  return s;
}

order_state reserved() {
  auto s = pending();
  EXPECT_EQ(run(s, priced(), t0 + 10), "OrderReserved");
  return s;
}

order_state paid() {
  auto s = reserved();
  EXPECT_EQ(run(s, payment_succeeded{"evt-1", "pay-1", 250}, t0 + 20), "OrderPaid");
  return s;
}

order_state expired() {
  auto s = reserved();
  EXPECT_EQ(run(s, expire_order{}, expiry), "OrderExpired");
  return s;
}

order_state cancelled() {
  auto s = reserved();
  EXPECT_EQ(run(s, cancel_order{"u1"}), "OrderCancelled");
  return s;
}

order_state rejected() {
  auto s = pending();
  EXPECT_EQ(run(s, reject_order{errc::sold_out, "p2 sold out"}), "OrderRejected");
  return s;
}

TEST(OrderDecide, PlacesANewOrder) {
  auto s = pending();
  EXPECT_EQ(render(s), "o1 v1 pending user=u1 items[ p1x2 p2x1 ] lines[ ] total=0 key=key-1 "
                       "hash=h1 created=1000000 updated=1000000 expires=- payment=- events[ ] "
                       "history[ OrderPlaced@1000000 ]");
}

TEST(OrderDecide, RejectsInvalidItems) {
  order_state s;
  auto place = [&](std::vector<order_line> items) {
    return render(decide(s, place_order{"o1", "u1", std::move(items), "", "h"}, t0));
  };
  EXPECT_EQ(place({}), "rejected:invalid_request");
  EXPECT_EQ(place({{"p1", 0}}), "rejected:invalid_request");
  EXPECT_EQ(place({{"p1", 1001}}), "rejected:invalid_request");
  EXPECT_EQ(place({{"p1", 1}, {"p1", 2}}), "rejected:invalid_request");
  EXPECT_EQ(place({{"", 1}}), "rejected:invalid_request");
  EXPECT_EQ(place(std::vector<order_line>(51, order_line{"p", 1})), "rejected:invalid_request");
  std::vector<order_line> fifty;
  for (int i = 0; i < 50; ++i)
    fifty.push_back({"p" + std::to_string(i), 1000});
  EXPECT_EQ(place(fifty), "OrderPlaced");
  EXPECT_EQ(render(decide(s, place_order{"o1", "", {{"p", 1}}, "", "h"}, t0)),
            "rejected:invalid_request");
}

TEST(OrderDecide, ReplayedPlacementWithSameRequestEmitsNothing) {
  auto s = reserved();
  EXPECT_EQ(run(s, two_items("h1")), "duplicate");
  EXPECT_EQ(s.status, order_status::reserved);
}

TEST(OrderDecide, RejectsReusedIdempotencyKeyWithDifferentRequest) {
  auto s = pending();
  EXPECT_EQ(run(s, two_items("other")), "rejected:idempotency_key_reused");
}

TEST(OrderDecide, ConfirmsReservationWithTotalOfLines) {
  auto s = reserved();
  EXPECT_EQ(render(s), "o1 v2 reserved user=u1 items[ p1x2 p2x1 ] lines[ p1x2@100 p2x1@50 ] "
                       "total=250 key=key-1 hash=h1 created=1000000 updated=1000010 "
                       "expires=1600000 payment=- events[ ] "
                       "history[ OrderPlaced@1000000 OrderReserved@1000010 ]");
}

TEST(OrderDecide, RejectsConfirmationWhoseLinesDoNotMatchTheItems) {
  auto s = pending();
  EXPECT_EQ(run(s, confirm_reservation{expiry, {{"p1", 2, 100}}}), "rejected:invalid_request");
  EXPECT_EQ(run(s, confirm_reservation{expiry, {{"p1", 2, 100}, {"p2", 3, 50}}}),
            "rejected:invalid_request");
  EXPECT_EQ(run(s, confirm_reservation{expiry, {{"p1", 2, 100}, {"p3", 1, 50}}}),
            "rejected:invalid_request");
}

TEST(OrderDecide, ConfirmsOnlyFromPending) {
  for (auto s : {reserved(), paid(), expired(), cancelled(), rejected()})
    EXPECT_EQ(run(s, priced()), "rejected:invalid_state") << to_string(s.status);
}

TEST(OrderDecide, RejectsFromPendingKeepingTheCode) {
  auto s = rejected();
  EXPECT_EQ(s.status, order_status::rejected);
  ASSERT_TRUE(s.rejection);
  EXPECT_EQ(s.rejection->code, "sold_out");
  EXPECT_EQ(s.rejection->message, "p2 sold out");
  for (auto other : {reserved(), paid(), expired(), cancelled(), rejected()})
    EXPECT_EQ(run(other, reject_order{errc::sold_out, "x"}), "rejected:invalid_state");
}

TEST(OrderDecide, CommandsOnAMissingOrderAreNotFound) {
  order_state none;
  EXPECT_EQ(render(decide(none, priced(), t0)), "rejected:not_found");
  EXPECT_EQ(render(decide(none, reject_order{errc::sold_out, ""}, t0)), "rejected:not_found");
  EXPECT_EQ(render(decide(none, payment_succeeded{"e", "p", {}}, t0)), "rejected:not_found");
  EXPECT_EQ(render(decide(none, payment_failed{"e", "p"}, t0)), "rejected:not_found");
  EXPECT_EQ(render(decide(none, cancel_order{"u1"}, t0)), "rejected:not_found");
  EXPECT_EQ(render(decide(none, expire_order{}, t0)), "rejected:not_found");
}

TEST(OrderDecide, PaymentOfAReservedOrderPaysIt) {
  auto s = paid();
  EXPECT_EQ(s.status, order_status::paid);
  EXPECT_EQ(s.payment_id, "pay-1");
  EXPECT_EQ(s.payment_events, std::set<std::string>{"evt-1"});
  EXPECT_EQ(s.updated_at, t0 + 20);
}

TEST(OrderDecide, PaymentWithoutAmountPaysTheTotal) {
  auto s = reserved();
  auto d = decide(s, payment_succeeded{"evt-1", "pay-1", std::nullopt}, t0);
  ASSERT_EQ(render(d), "OrderPaid");
  EXPECT_EQ(std::get<OrderPaid>(d.events[0]).amount_cents, 250);
}

TEST(OrderDecide, RejectsPaymentWithWrongAmountLeavingTheOrderAlone) {
  auto s = reserved();
  EXPECT_EQ(run(s, payment_succeeded{"evt-1", "pay-1", 249}), "rejected:amount_mismatch");
  EXPECT_EQ(s.status, order_status::reserved);
  EXPECT_FALSE(is_duplicate_payment(s, "evt-1"));
}

TEST(OrderDecide, DuplicateWebhookEventEmitsNothing) {
  auto s = paid();
  auto d = decide(s, payment_succeeded{"evt-1", "pay-1", 250}, t0);
  EXPECT_EQ(render(d), "duplicate");
  EXPECT_TRUE(is_duplicate_payment(s, "evt-1"));
  EXPECT_FALSE(is_duplicate_payment(s, "evt-2"));
}

TEST(OrderDecide, DuplicateFailedWebhookEventEmitsNothing) {
  auto s = reserved();
  EXPECT_EQ(run(s, payment_failed{"evt-9", "pay-1"}), "OrderCancelled");
  EXPECT_EQ(run(s, payment_failed{"evt-9", "pay-1"}), "duplicate");
  EXPECT_EQ(run(s, payment_succeeded{"evt-9", "pay-1", 250}), "duplicate");
}

TEST(OrderDecide, LatePaymentAfterExpiryIsRejectedForRefund) {
  auto s = expired();
  auto d = decide(s, payment_succeeded{"evt-2", "pay-2", 250}, expiry + 5);
  EXPECT_EQ(render(d), "PaymentRejected+rejected:invalid_state");
  const auto& pr = std::get<PaymentRejected>(d.events[0]);
  EXPECT_EQ(pr.payment_id, "pay-2");
  EXPECT_EQ(pr.amount_cents, 250);
  EXPECT_EQ(pr.reason, "order is expired");
  apply(s, d.events[0], expiry + 5);
  EXPECT_EQ(s.status, order_status::expired);
  EXPECT_EQ(s.updated_at, expiry);
  EXPECT_EQ(s.history.back().type, "PaymentRejected");
  // The provider retrying the same webhook is now a duplicate, not a second refund.
  EXPECT_EQ(render(decide(s, payment_succeeded{"evt-2", "pay-2", 250}, expiry + 6)), "duplicate");
}

TEST(OrderDecide, PaymentOfAFinishedOrderIsRejectedForRefund) {
  for (auto s : {paid(), cancelled(), rejected()})
    EXPECT_EQ(run(s, payment_succeeded{"evt-7", "pay-7", std::nullopt}),
              "PaymentRejected+rejected:invalid_state")
        << to_string(s.status);
}

TEST(OrderDecide, PaymentOfAPendingOrderIsInvalidStateWithoutEvents) {
  auto s = pending();
  EXPECT_EQ(run(s, payment_succeeded{"evt-1", "pay-1", 250}), "rejected:invalid_state");
  EXPECT_FALSE(is_duplicate_payment(s, "evt-1"));
}

TEST(OrderDecide, FailedPaymentCancelsAReservedOrder) {
  auto s = reserved();
  auto d = decide(s, payment_failed{"evt-3", "pay-3"}, t0);
  ASSERT_EQ(render(d), "OrderCancelled");
  const auto& c = std::get<OrderCancelled>(d.events[0]);
  EXPECT_EQ(c.reason, "payment_failed");
  EXPECT_EQ(c.payment_id, "pay-3");
  EXPECT_EQ(c.event_id, "evt-3");
  apply(s, d.events[0], t0 + 1);
  EXPECT_EQ(s.status, order_status::cancelled);
  EXPECT_EQ(s.payment_id, "pay-3");
}

TEST(OrderDecide, FailedPaymentOfAnOrderNotReservedIsInvalidState) {
  for (auto s : {pending(), paid(), expired(), cancelled(), rejected()})
    EXPECT_EQ(run(s, payment_failed{"evt-8", "pay-8"}), "rejected:invalid_state")
        << to_string(s.status);
}

TEST(OrderDecide, UserCancelsTheirReservedOrder) {
  auto s = cancelled();
  EXPECT_EQ(s.status, order_status::cancelled);
  EXPECT_EQ(s.payment_id, std::nullopt);
}

TEST(OrderDecide, ForbidsCancelByAnotherUser) {
  auto s = reserved();
  EXPECT_EQ(run(s, cancel_order{"u2"}), "rejected:forbidden");
  auto p = paid();
  EXPECT_EQ(run(p, cancel_order{"u2"}), "rejected:forbidden");
}

TEST(OrderDecide, RejectsCancelOfAnOrderNotReserved) {
  for (auto s : {pending(), paid(), expired(), cancelled(), rejected()})
    EXPECT_EQ(run(s, cancel_order{"u1"}), "rejected:invalid_state") << to_string(s.status);
}

TEST(OrderDecide, ExpiresAReservedOrderWhenDue) {
  auto s = reserved();
  EXPECT_EQ(run(s, expire_order{}, expiry - 1), "rejected:invalid_state");
  EXPECT_EQ(s.status, order_status::reserved);
  EXPECT_EQ(run(s, expire_order{}, expiry), "OrderExpired");
  EXPECT_EQ(s.status, order_status::expired);
}

TEST(OrderDecide, RejectsExpiryOfAnOrderNotReserved) {
  for (auto s : {pending(), paid(), expired(), cancelled(), rejected()})
    EXPECT_EQ(run(s, expire_order{}, expiry + 1), "rejected:invalid_state") << to_string(s.status);
}

TEST(OrderApply, TerminalStatusNeverChangesEvenOnACorruptLog) {
  auto s = paid();
  apply(s, OrderExpired{"o1"}, t0 + 99);
  apply(s, OrderCancelled{"o1", "user", "", ""}, t0 + 99);
  apply(s, OrderReserved{"o1", 5, 5, {}}, t0 + 99);
  EXPECT_EQ(s.status, order_status::paid);
  EXPECT_EQ(s.total_cents, 250);
  EXPECT_EQ(s.version, 6);
}

TEST(OrderApply, IgnoresProductEvents) {
  auto s = pending();
  apply(s, StockSold{"p1", "o1", "u1", 2}, t0);
  EXPECT_EQ(s.version, 1);
  EXPECT_EQ(s.history.size(), 1u);
}

TEST(OrderStatus, NamesAndTerminality) {
  std::string out;
  for (auto st :
       {order_status::none, order_status::pending, order_status::reserved, order_status::paid,
        order_status::expired, order_status::cancelled, order_status::rejected}) {
    out += std::string(to_string(st)) + (is_terminal(st) ? "! " : " ");
    EXPECT_EQ(parse_order_status(to_string(st)), st);
  }
  EXPECT_EQ(out, "none pending reserved paid! expired! cancelled! rejected! ");
  EXPECT_EQ(parse_order_status("shipped"), std::nullopt);
}

} // namespace
} // namespace flashsale

namespace flashsale {
namespace {

TEST(OrderFold, FoldsAStreamAndStopsAtTheFirstEventItCannotRead) {
  std::vector<envelope> stream{
      to_envelope(OrderPlaced{"o1", "u1", {{"p1", 1}}, "", "h", t0}, 1, t0),
      to_envelope(OrderReserved{"o1", expiry, 100, {{"p1", 1, 100}}}, 2, t0 + 1)};
  stream[0].seq = 4;
  stream[1].seq = 7;
  auto whole = fold_order_stream(stream);
  EXPECT_FALSE(whole.undecodable);
  EXPECT_EQ(whole.order.status, order_status::reserved);
  EXPECT_EQ(whole.order.version, 2);

  stream[1].data = "{"; // damaged, or written by a build that knows more
  auto partial = fold_order_stream(stream);
  ASSERT_TRUE(partial.undecodable);
  EXPECT_EQ(partial.undecodable->rfind("seq 7: ", 0), 0u) << *partial.undecodable;
}

} // namespace
} // namespace flashsale
