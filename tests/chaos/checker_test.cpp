// The checker against synthetic runs: a clean one passes, and for every property a run that
// breaks it (and only it) is reported under that property's name, with the history entries
// and log records involved. A checker that cannot fail proves nothing.
#include <gtest/gtest.h>

#include "tests/chaos/checker.hpp"

namespace flashsale::testing::chaos {
namespace {

using nlohmann::json;

constexpr unix_ms t0 = 1'800'000'000'000; // any moment; all times below are offsets from it

/// Appends records to one partition's log as the stream would hold them.
class log_builder {
public:
  explicit log_builder(int partition) { log_.partition = partition; }

  log_builder& claim(const std::string& node, std::uint64_t epoch) {
    writer_ = node + "/" + std::to_string(epoch);
    return control("claim", node, epoch);
  }
  log_builder& release() {
    auto slash = writer_.find('/');
    return control("release", writer_.substr(0, slash), std::stoull(writer_.substr(slash + 1)));
  }
  /// The next records are written by `writer` ("node/epoch") whatever the last claim said.
  log_builder& as(const std::string& writer) {
    writer_ = writer;
    return *this;
  }
  log_builder& event(const std::string& type, const std::string& stream, json data, unix_ms at,
                     std::optional<std::int64_t> version = std::nullopt) {
    const auto dash = stream.find('-');
    const auto entity = stream.substr(0, dash), id = stream.substr(dash + 1);
    auto v = version ? *version : ++versions_[stream];
    json envelope{{"data", data},     {"recorded_at", rfc3339(at)},
                  {"seq", next_ + 1}, {"stream", stream},
                  {"type", type},     {"version", v}};
    return add("flashsale.p." + std::to_string(log_.partition) + "." + entity + "." + id + "."
                   + type,
               envelope.dump());
  }
  log_builder& define(const std::string& product, std::int64_t stock, unix_ms at) {
    return event("ProductDefined", "product-" + product,
                 {{"product_id", product}, {"name", product}, {"stock", stock}}, at);
  }
  log_builder& stock(const std::string& type, const std::string& product, const std::string& order,
                     std::int64_t quantity, unix_ms at) {
    return event(type, "product-" + product,
                 {{"product_id", product}, {"order_id", order}, {"quantity", quantity}}, at);
  }
  /// StockReserved, OrderPlaced and OrderReserved of a keyed single-item order.
  log_builder& order(const std::string& id, const std::string& user, const std::string& key,
                     const std::string& product, std::int64_t quantity, unix_ms at,
                     unix_ms expires_at = t0 + 600'000) {
    stock("StockReserved", product, id, quantity, at);
    event("OrderPlaced", "order-" + id,
          {{"order_id", id},
           {"user_id", user},
           {"idempotency_key", key},
           {"items", {{{"product_id", product}, {"quantity", quantity}}}}},
          at);
    return event("OrderReserved", "order-" + id,
                 {{"order_id", id}, {"expires_at", rfc3339(expires_at)}, {"total_cents", 100}}, at);
  }
  log_builder& order_event(const std::string& type, const std::string& id, json extra, unix_ms at) {
    extra["order_id"] = id;
    return event(type, "order-" + id, extra, at);
  }

  partition_log done() const { return log_; }
  log_record& last() { return log_.records.back(); }

  static std::string rfc3339(unix_ms at) {
    std::time_t s = static_cast<std::time_t>(at / 1000);
    std::tm tm{};
    gmtime_r(&s, &tm);
    char buf[40];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    char out[48];
    std::snprintf(out, sizeof out, "%s.%03lldZ", buf, static_cast<long long>(at % 1000));
    return out;
  }

private:
  log_builder& control(const std::string& what, const std::string& node, std::uint64_t epoch) {
    return add("flashsale.p." + std::to_string(log_.partition) + ".ctl." + what,
               json{{"node", node}, {"epoch", epoch}}.dump());
  }
  log_builder& add(const std::string& subject, const std::string& body) {
    ++next_;
    log_.records.push_back(parse_record(log_.partition, next_, subject, writer_, body));
    return *this;
  }

  partition_log log_;
  std::uint64_t next_ = 0;
  std::string writer_;
  std::map<std::string, std::int64_t> versions_;
};

operation place_op(int client, const std::string& user, const std::string& key,
                   const std::string& product, int quantity, unix_ms invoke, unix_ms complete,
                   int status, const std::string& order_or_code) {
  operation op;
  op.client = client;
  op.node = "node1";
  op.kind = op_kind::place;
  op.user_id = user;
  op.key = key;
  op.items = {{product, quantity}};
  op.invoke = invoke;
  op.complete = complete;
  op.status = status;
  if (status == 201) {
    op.order_id = order_or_code;
    op.result = "reserved";
  } else {
    op.code = order_or_code;
  }
  return op;
}

operation pay_op(const std::string& order, const std::string& event_id, unix_ms invoke,
                 unix_ms complete, int status, const std::string& result_or_code) {
  operation op;
  op.node = "node2";
  op.kind = op_kind::pay;
  op.user_id = "u1";
  op.order_id = order;
  op.event_id = event_id;
  op.invoke = invoke;
  op.complete = complete;
  op.status = status;
  (status == 200 ? op.result : op.code) = result_or_code;
  return op;
}

/// A clean run: product "p" (stock 2) on one partition; u1 buys one unit (201) and pays it;
/// u2 tries while it is held and gets... one left, so u2 buys too; then u3 is sold out.
/// Every node reads it all the same; the partition answers right after the heal.
class CheckerTest : public ::testing::Test {
protected:
  CheckerTest() : log(0) {
    run.seed = 42;
    run.schedule = "seed 42, 1 faults:\n  +1500ms cut node2/nats for 2000ms";
    run.partitions = 1;
    run.products = {{"p", 0, 2, 100}};
    run.nodes = {"node1", "node2"};
    log.claim("node1", 5).define("p", 2, t0);
    log.order("o1", "u1", "k1", "p", 1, t0 + 100);
    log.order("o2", "u2", "k2", "p", 1, t0 + 300);
    log.order_event("OrderPaid", "o1", {{"event_id", "e1"}, {"payment_id", "pay1"}}, t0 + 500)
        .stock("StockSold", "p", "o1", 1, t0 + 500);
    log.order_event("OrderPaid", "o2", {{"event_id", "e2"}, {"payment_id", "pay2"}}, t0 + 700)
        .stock("StockSold", "p", "o2", 1, t0 + 700);
    history = {place_op(1, "u1", "k1", "p", 1, t0 + 90, t0 + 110, 201, "o1"),
               place_op(2, "u2", "k2", "p", 1, t0 + 290, t0 + 310, 201, "o2"),
               pay_op("o1", "e1", t0 + 490, t0 + 510, 200, "applied"),
               place_op(3, "u3", "k3", "p", 1, t0 + 600, t0 + 610, 409, "sold_out"),
               pay_op("o2", "e2", t0 + 690, t0 + 710, 200, "applied")};
    for (auto& node : run.nodes) {
      run.order_reads[node]["o1"] = {200, "paid"};
      run.order_reads[node]["o2"] = {200, "paid"};
      run.product_reads[node]["p"] = {200, {2, 0, 0, 2}};
    }
    run.faults = {{"cut_node_nats", "+1500ms cut node2/nats for 2000ms", t0 + 150, t0 + 400}};
    run.last_heal = t0 + 400;
    run.served[0] = {t0 + 100, t0 + 110, t0 + 310, t0 + 450, t0 + 610, t0 + 710};
    run.sale_finished = t0 + 710;
    run.logs_read_at = t0 + 800;
  }

  verdict judge() {
    for (std::size_t i = 0; i < history.size(); ++i)
      history[i].index = static_cast<int>(i);
    run.history = history;
    run.logs = {log.done()};
    return check(run);
  }

  /// "property: message" of each violation, for comparing.
  static std::vector<std::string> found(const verdict& v) {
    std::vector<std::string> out;
    for (auto& x : v.violations)
      out.push_back(x.property + ": " + x.message);
    return out;
  }
  static bool has(const verdict& v, const std::string& property) {
    for (auto& x : v.violations)
      if (x.property == property)
        return true;
    return false;
  }

  run_record run;
  log_builder log;
  std::vector<operation> history;
};

TEST_F(CheckerTest, ACleanRunHasNoViolation) {
  auto v = judge();
  EXPECT_EQ(found(v), std::vector<std::string>{});
  EXPECT_EQ(v.acknowledged_orders, 2);
  EXPECT_EQ(v.recovery_ms, 50);
  EXPECT_EQ(v.claims, 1u);
}

TEST_F(CheckerTest, AnAcknowledgedOrderMissingFromTheLogsIsLost) {
  history.push_back(place_op(4, "u4", "k4", "p", 1, t0 + 620, t0 + 630, 201, "o4"));
  auto v = judge();
  ASSERT_EQ(found(v), (std::vector<std::string>{
                          "lost: acknowledged order o4 is not reserved in the logs",
                          "unreadable: order o4 on node1: not read, its log says none",
                          "unreadable: order o4 on node2: not read, its log says none"}));
  EXPECT_EQ(v.violations[0].ops, std::vector<int>{5});
  auto report = v.report(run);
  EXPECT_NE(report.find("seed 42"), std::string::npos) << report;
  EXPECT_NE(report.find("cut node2/nats"), std::string::npos) << report;
  EXPECT_NE(report.find("history #5 c4 node1 place u4 key k4 [px1]"), std::string::npos) << report;
}

TEST_F(CheckerTest, OneKeyPlacingTwoOrdersIsADuplicate) {
  log.order("o3", "u1", "k1", "p", 0, t0 + 750); // a retry of k1 placed a second order
  auto v = judge();
  EXPECT_TRUE(has(v, "duplicate")) << v.report(run);
  EXPECT_EQ(found(v).front(), "duplicate: key u1/k1 placed o1 and o3");
}

TEST_F(CheckerTest, AReservationOverTheStockIsOversoldAtThatPointOfTheLog) {
  log.order("o3", "u3", "k3", "p", 1, t0 + 720); // the third unit of two
  log.order_event("OrderExpired", "o3", {}, t0 + 790)
      .stock("StockReleased", "p", "o3", 1, t0 + 790); // back to 0: only the moment was wrong
  for (auto& node : run.nodes)
    run.order_reads[node]["o3"] = {200, "expired"};
  auto v = judge();
  ASSERT_EQ(v.violations.size(), 1u) << v.report(run);
  EXPECT_EQ(v.violations[0].property, "oversold");
  EXPECT_EQ(v.violations[0].at, t0 + 720);
  EXPECT_NE(v.violations[0].message.find("available -1"), std::string::npos)
      << v.violations[0].message;
  EXPECT_NE(v.violations[0].message.find("o3x1"), std::string::npos) << v.violations[0].message;
}

TEST_F(CheckerTest, ReleasingUnitsAnOrderDoesNotHoldIsReported) {
  log.stock("StockReleased", "p", "o9", 1, t0 + 720);
  EXPECT_TRUE(has(judge(), "oversold"));
}

TEST_F(CheckerTest, ARecordOfTheFormerOwnerAfterAClaimBreaksOwnership) {
  log.claim("node2", 9).as("node1/5").order_event("PaymentRejected", "o1", {}, t0 + 760);
  auto v = judge();
  ASSERT_EQ(found(v),
            std::vector<std::string>{"ownership: written by node1/5 after node2/9 claimed"});
  EXPECT_EQ(v.violations[0].records.size(), 1u);
  EXPECT_NE(v.violations[0].records[0].find("p0#14 node1/5 PaymentRejected"), std::string::npos)
      << v.violations[0].records[0];
}

TEST_F(CheckerTest, AClaimAtAnOlderEpochBreaksOwnership) {
  log.claim("node2", 4);
  EXPECT_EQ(found(judge()),
            std::vector<std::string>{
                "ownership: a claim at an epoch not above the last claim's (node1/5)"});
}

TEST_F(CheckerTest, TheSameWriterClaimingAgainIsAReopenNotAViolation) {
  log.claim("node1", 5).release().claim("node3", 11);
  EXPECT_EQ(found(judge()), std::vector<std::string>{});
}

TEST_F(CheckerTest, WritingAfterItsOwnReleaseBreaksOwnership) {
  log.release().order_event("PaymentRejected", "o1", {}, t0 + 760);
  EXPECT_EQ(found(judge()),
            std::vector<std::string>{"ownership: written by node1/5 after its own release"});
}

TEST_F(CheckerTest, AVersionTwiceInOneStreamBreaksIntegrity) {
  log.event("PaymentRejected", "order-o1", {{"order_id", "o1"}}, t0 + 760, 3);
  EXPECT_EQ(found(judge()), std::vector<std::string>{"integrity: order-o1 version 3 after 3"});
}

TEST_F(CheckerTest, AnEnvelopeStampedWithAnotherSequenceThanItsMessageBreaksIntegrity) {
  // What a batch re-sent after a lost heartbeat answer left (seed 2): stamped for 12, stored
  // at 13. A node opening the partition refuses such a log.
  log.order_event("PaymentRejected", "o1", {}, t0 + 760);
  log.last().envelope_seq = 12;
  EXPECT_EQ(found(judge()), std::vector<std::string>{"integrity: envelope seq 12 in message 13"});
}

TEST_F(CheckerTest, AnEventInAnotherPartitionsStreamBreaksIntegrity) {
  run.partitions = 2; // "p" hashes to partition 1 of 2 (FNV-1a, pinned): log 0 may not hold it
  ASSERT_EQ(partition_of("p", 2), 1);
  run.products[0].partition = 1;
  auto v = judge();
  EXPECT_TRUE(has(v, "integrity")) << v.report(run);
}

TEST_F(CheckerTest, SoldOutWhileTheLogShowsStockThroughoutTheCallIsReportedWithItsTime) {
  history.push_back(place_op(5, "u5", "k5", "p", 1, t0 + 150, t0 + 200, 409, "sold_out"));
  auto v = judge();
  ASSERT_EQ(found(v), std::vector<std::string>{
                          "stale_answer: 409 sold_out while the log shows available throughout "
                          "the call: p>=1"});
  EXPECT_EQ(v.violations[0].at, t0 + 200);
  EXPECT_EQ(v.violations[0].ops, std::vector<int>{5});
}

TEST_F(CheckerTest, SoldOutRacingAHoldThatTookTheLastUnitIsFine) {
  // u5's call spans o2's reservation (t0+300): at its end nothing was available.
  history.push_back(place_op(5, "u5", "k5", "p", 1, t0 + 250, t0 + 320, 409, "sold_out"));
  EXPECT_EQ(found(judge()), std::vector<std::string>{});
}

TEST_F(CheckerTest, SoldOutBeforeAReleaseWasStoredIsFine) {
  // q's only unit is held, then released (decided at t0+740, stored at t0+900): a sold_out
  // answered at t0+760..780 may rest on the hold, the release not being durable yet.
  log.define("q", 1, t0 + 710).order("o5", "u5", "k5", "q", 1, t0 + 720);
  log.order_event("OrderCancelled", "o5", {{"reason", "user"}}, t0 + 740)
      .stock("StockReleased", "q", "o5", 1, t0 + 740);
  log.last().stored_at = t0 + 900;
  for (auto& node : run.nodes)
    run.order_reads[node]["o5"] = {200, "cancelled"};
  run.products.push_back({"q", 0, 1, 100});
  for (auto& node : run.nodes)
    run.product_reads[node]["q"] = {200, {1, 1, 0, 0}};
  history.push_back(place_op(5, "u6", "k6", "q", 1, t0 + 760, t0 + 780, 409, "sold_out"));
  EXPECT_EQ(found(judge()), std::vector<std::string>{});
  // Once stored, a sold_out is stale.
  history.back().invoke = t0 + 930; // past the checker's slack
  history.back().complete = t0 + 940;
  EXPECT_EQ(found(judge()),
            std::vector<std::string>{"stale_answer: 409 sold_out while the log shows available "
                                     "throughout the call: q>=1"});
}

TEST_F(CheckerTest, SoldOutRestingOnAHoldNeverStoredIsStale) {
  // Seed 1002: a racing order's hold was decided, its commit failed, it never reached the
  // log; a sold_out that rested on it was answered all the same. The log shows the unit free.
  log.define("q", 1, t0 + 710);
  run.products.push_back({"q", 0, 1, 100});
  history.push_back(place_op(5, "u6", "k6", "q", 1, t0 + 760, t0 + 780, 409, "sold_out"));
  history.push_back(place_op(6, "u7", "k7", "q", 1, t0 + 750, t0 + 1400, 503, "unavailable"));
  for (auto& node : run.nodes)
    run.product_reads[node]["q"] = {200, {1, 1, 0, 0}};
  auto v = judge();
  ASSERT_EQ(v.violations.size(), 1u) << v.report(run);
  EXPECT_EQ(v.violations[0].message,
            "409 sold_out while the log shows available throughout the call: q>=1 (resting on a "
            "racing hold that never committed?)");
  EXPECT_EQ(v.violations[0].ops, (std::vector<int>{5, 6})) << "the racing call is named too";
}

TEST_F(CheckerTest, SoldOutForMoreThanIsAvailableIsFine) {
  history.push_back(place_op(5, "u5", "k5", "p", 2, t0 + 150, t0 + 200, 409, "sold_out"));
  EXPECT_EQ(found(judge()), std::vector<std::string>{});
}

TEST_F(CheckerTest, AnAcknowledgedReservationRecordedOutsideItsCallIsStale) {
  history[0].invoke = t0 + 200; // o1 was recorded at t0+100, before this call began
  history[0].complete = t0 + 210;
  EXPECT_EQ(found(judge()).front().rfind("stale_answer: 201 for o1", 0), 0u);
  history[0].replayed = true; // a replay answers what was decided before: fine
  EXPECT_EQ(found(judge()), std::vector<std::string>{});
}

TEST_F(CheckerTest, AnOrderReadDifferentlyOnOneNodeIsUnreadable) {
  run.order_reads["node2"]["o1"] = {200, "reserved"};
  run.order_reads["node1"]["o2"] = {503, ""};
  EXPECT_EQ(found(judge()), (std::vector<std::string>{
                                "unreadable: order o2 on node1: 503 , its log says paid",
                                "unreadable: order o1 on node2: 200 reserved, its log says paid"}));
}

TEST_F(CheckerTest, AProductViewUnlikeItsLogIsUnreadable) {
  run.product_reads["node1"]["p"] = {200, {2, 1, 0, 1}};
  EXPECT_EQ(
      found(judge()),
      std::vector<std::string>{"unreadable: product p on node1: 200 stock 2 available 1 reserved 0 "
                               "sold 1, its log says stock 2 available 0 reserved 0 sold 2"});
}

TEST_F(CheckerTest, UnknownOutcomesAreResolvedFromTheLogs) {
  auto lost_answer = place_op(6, "u2", "k2", "p", 1, t0 + 290, t0 + 2290, 0, "");
  auto never = place_op(7, "u7", "k7", "p", 1, t0 + 290, t0 + 2290, 503, "unavailable");
  auto pay_unknown = pay_op("o2", "e2", t0 + 690, t0 + 2690, 0, "");
  // A 503 before u1's 201 with the same key: the 201's call placed it, not this one.
  auto before = place_op(1, "u1", "k1", "p", 1, t0 + 10, t0 + 50, 503, "unavailable");
  history.push_back(lost_answer);
  history.push_back(never);
  history.push_back(pay_unknown);
  history.push_back(before);
  // No answer, and the node ran it after the call gave up (paused, then woken): its order was
  // recorded after the call, and no later call of its key made it.
  log.define("q", 1, t0 + 710).order("o5", "u5", "k5", "q", 1, t0 + 6000);
  log.order_event("OrderExpired", "o5", {}, t0 + 9000)
      .stock("StockReleased", "q", "o5", 1, t0 + 9000);
  history.push_back(place_op(5, "u5", "k5", "q", 1, t0 + 1000, t0 + 5000, 0, ""));
  for (auto& node : run.nodes)
    run.order_reads[node]["o5"] = {200, "expired"};
  run.logs_read_at = t0 + 9100;
  auto v = judge();
  EXPECT_EQ(found(v), std::vector<std::string>{});
  // lost_answer and pay_unknown: the logs hold their effects, but calls answered 201 / applied
  // made them; only o5 is the no-answer call's own.
  EXPECT_EQ(v.no_answer, 3);
  EXPECT_EQ(v.no_answer_happened, 1);
  EXPECT_EQ(v.unavailable, 2);
  EXPECT_EQ(v.unavailable_happened, 0);
  EXPECT_EQ(v.answers["place 0"], 2);
  EXPECT_EQ(v.answers["place 201"], 2);
}

TEST_F(CheckerTest, APartitionNotAnsweredWithin15sOfTheHealIsALivenessViolation) {
  run.served[0] = {t0 + 100, t0 + 400 + 15'001};
  run.sale_finished.reset();
  EXPECT_EQ(found(judge()),
            (std::vector<std::string>{
                "liveness: partition 0 not answered within 15000 ms of the last heal (after "
                "15001 ms)",
                "liveness: the sale did not finish (some unit never sold) after the last heal"}));
}

TEST_F(CheckerTest, AHoldLongPastItsExpiryIsReported) {
  log.define("q", 1, t0 + 710).order("o5", "u5", "k5", "q", 1, t0 + 720, t0 + 730);
  run.logs_read_at = t0 + 730 + 10'001;
  for (auto& node : run.nodes)
    run.order_reads[node]["o5"] = {200, "reserved"};
  EXPECT_EQ(
      found(judge()),
      std::vector<std::string>{"expiry: order o5 still holds its units 10001 ms after it expired"});
}

TEST_F(CheckerTest, UnitsHeldForAnOrderThatNeverCommittedLeak) {
  log.define("q", 1, t0 + 710).stock("StockReserved", "q", "o6", 1, t0 + 720);
  EXPECT_EQ(found(judge()), std::vector<std::string>{
                                "stock_leak: q: 1 units still held for order o6 whose log status "
                                "is none"});
}

TEST_F(CheckerTest, ACancelAnsweredButNotInTheLogIsStale) {
  operation c;
  c.kind = op_kind::cancel;
  c.user_id = "u1";
  c.order_id = "o1";
  c.invoke = t0 + 200;
  c.complete = t0 + 210;
  c.status = 200;
  c.result = "cancelled";
  history.push_back(c);
  EXPECT_EQ(found(judge()), std::vector<std::string>{
                                "stale_answer: cancel of o1 answered 200 but the log has it paid"});
}

TEST_F(CheckerTest, APaymentAnsweredAppliedButMissingFromTheLogIsStale) {
  history.push_back(pay_op("o2", "e9", t0 + 720, t0 + 730, 200, "applied"));
  EXPECT_EQ(found(judge()), std::vector<std::string>{
                                "stale_answer: payment e9 answered applied but the log does not "
                                "have it"});
}

TEST_F(CheckerTest, AnOrderPaidTwiceLeavesItsTerminalStatus) {
  log.order_event("OrderPaid", "o1", {{"event_id", "e7"}}, t0 + 760);
  EXPECT_EQ(found(judge()), std::vector<std::string>{"terminal: order o1 OrderPaid while paid"});
}

TEST_F(CheckerTest, AFailedReplayVerifyIsReported) {
  run.replay_failures[0] = "oversold: p";
  EXPECT_EQ(found(judge()), std::vector<std::string>{
                                "replay: flashsale replay --partition 0 --verify: oversold: p"});
}

TEST_F(CheckerTest, ARefusalTheApiDoesNotGiveAnOrderIsReported) {
  // Seed 10: the retry of a key whose first call got a 503 (its hold was compensated).
  history.push_back(place_op(5, "u5", "k5", "p", 1, t0 + 720, t0 + 730, 409, "invalid_state"));
  auto v = judge();
  ASSERT_EQ(v.violations.size(), 1u);
  EXPECT_EQ(v.violations[0].property, "refusal");
  EXPECT_EQ(v.violations[0].ops, std::vector<int>{5});
}

TEST_F(CheckerTest, AKnownDefectIsSetApartAndReportedButDoesNotFailTheRun) {
  history.push_back(place_op(5, "u5", "k5", "p", 1, t0 + 720, t0 + 730, 409, "invalid_state"));
  history.push_back(place_op(6, "u6", "k6", "p", 1, t0 + 720, t0 + 730, 422, "other"));
  for (std::size_t i = 0; i < history.size(); ++i)
    history[i].index = static_cast<int>(i);
  run.history = history;
  run.logs = {log.done()};
  checker_options o;
  o.known = {{"refusal", "409 invalid_state", "defect 2 of issue 22"}};
  auto v = check(run, o);
  ASSERT_EQ(v.violations.size(), 1u) << "the 422 is not the known defect";
  EXPECT_NE(v.violations[0].message.find("422"), std::string::npos);
  ASSERT_EQ(v.known.size(), 1u);
  EXPECT_NE(v.known[0].message.find("[known defect: defect 2 of issue 22]"), std::string::npos);
  EXPECT_NE(v.report(run).find("1 violations of known defects"), std::string::npos);
}

TEST_F(CheckerTest, AProcessThatExitedUnkilledIsReported) {
  run.crashes = {"node2 exited 1: read cluster partitions: No responders"};
  EXPECT_EQ(found(judge()), std::vector<std::string>{
                                "crash: node2 exited 1: read cluster partitions: No responders"});
}

TEST(UnavailablePerFault, TakesTheLongestGapInEachFaultsWindow) {
  std::vector<fault_window> faults{{"kill_node", "", 1000, 2000}, {"split", "", 9000, 9500}};
  std::map<int, std::vector<unix_ms>> served{{0, {900, 1100, 1200, 3300, 3400, 9100, 9200, 12000}},
                                             {1, {950, 2500, 3100, 9000, 12000}}};
  // kill_node: [1000, 3000]: p0 1200..3300; split: [9000, 10500]: p1 9000..12000.
  auto per = unavailable_per_fault(faults, served, 1000, 20000);
  ASSERT_EQ(per.size(), 2u);
  EXPECT_EQ(per[0].ms, 2100);
  EXPECT_EQ(per[0].partition, 0);
  EXPECT_EQ(per[1].ms, 3000);
  EXPECT_EQ(per[1].partition, 1);
}

TEST(UnavailablePerFault, EndsWhereTheObservationsEnd) {
  // Probes stopped at 2500: nothing after is a gap, only unobserved.
  auto per =
      unavailable_per_fault({{"kill_node", "", 1000, 2000}}, {{0, {900, 1500, 2400}}}, 15000, 2500);
  EXPECT_EQ(per.at(0).ms, 900); // 1500..2400; not 2400..17000
}

TEST_F(CheckerTest, TheLongestUnavailabilityIsTakenPerFaultKind) {
  run.observed_until = t0 + 800;
  auto v = judge();
  // The cut's window [t0+150, t0+800]: partition 0 answered at 110 and next at 310.
  EXPECT_EQ(v.longest_unavailable_ms,
            (std::map<std::string, std::int64_t>{{"cut_node_nats", 160}}));
}

} // namespace
} // namespace flashsale::testing::chaos
