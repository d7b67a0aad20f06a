// Recovery at start-up: a node that died between two events of a saga (the log is written
// here directly, as a crash would have left it) finishes or compensates every saga, settles
// units still held by finished orders, gives back holds whose order never committed, and
// expires holds that fell due while it was down. Logs in the older format (OrderPlaced
// committed before the reservations) still recover.
#include <future>

#include "actors/ids.hpp"
#include "events/world_snapshot.hpp"
#include "persistence/sqlite_event_store.hpp"
#include "persistence/world_recovery.hpp"
#include "tests/actors/node_fixture.hpp"

using namespace flashsale;
using namespace std::chrono_literals;
using flashsale::testing::eventually;

namespace {

class Recovery : public flashsale::testing::node_fixture {
protected:
  void SetUp() override {} // each test writes a log first, then starts the node

  /// Appends `events` to their streams as a crashed node would have left them, and
  /// `idempotency` records with the last of them.
  void write_log(const std::vector<event>& events,
                 std::vector<idempotency_record> idempotency = {}) {
    store_options options;
    options.path = dir_.file("events.db");
    auto opened = open_sqlite_event_store(options);
    ASSERT_TRUE(std::holds_alternative<std::unique_ptr<event_store>>(opened));
    auto& store = *std::get<0>(opened);
    for (auto& e : events) {
      auto stream = stream_of(e);
      auto version = store.stream_version(stream);
      auto env = to_envelope(e, version + 1, clock_.now());
      append_batch batch;
      batch.streams.push_back({stream, version, {{env.type, env.data, env.recorded_at}}});
      if (&e == &events.back())
        batch.idempotency = idempotency;
      auto r = store.append_sync(std::move(batch));
      ASSERT_FALSE(r.error) << r.error->message;
    }
  }

  ProductDefined product(const std::string& id, std::int64_t stock) {
    return ProductDefined{id, "product " + id, stock, 100, 0, std::nullopt, 60};
  }

  OrderPlaced placed(const std::string& order, std::vector<order_line> items) {
    return OrderPlaced{order, "u-1", std::move(items), "", "hash", clock_.now()};
  }

  StockReserved reserved(const std::string& product, const std::string& order, int qty = 1) {
    return StockReserved{product, order, "u-1", qty, 100};
  }
};

} // namespace

TEST_F(Recovery, PendingSagaCutOffByACrashFinishesItsReservation) {
  write_log({product("a", 5), product("b", 5), placed("o-1", {{"a", 1}, {"b", 1}}),
             reserved("a", "o-1")});
  start();
  ASSERT_TRUE(eventually([&] { return status_of("o-1") == "reserved"; })) << status_of("o-1");
  // The product views are published by the writer thread after the commit the order's status
  // is read from: wait for them rather than race them.
  EXPECT_TRUE(eventually([&] {
    return stock_of("a") + " " + stock_of("b") == "4/1/0 of 5 4/1/0 of 5";
  })) << stock_of("a") + " " + stock_of("b")
      << ": the unit reserved before the crash is not "
         "reserved twice";
}

TEST_F(Recovery, HoldWhoseOrderNeverCommittedIsGivenBackOnStart) {
  // A multi-item placement holds item by item and commits its order only once all are held;
  // a crash in between leaves holds nobody was told about.
  write_log({product("a", 5), product("b", 5), reserved("a", "o-cut"), reserved("b", "o-cut")});
  start();
  EXPECT_TRUE(eventually([&] {
    return stock_of("a") + " " + stock_of("b") == "5/0/0 of 5 5/0/0 of 5";
  })) << stock_of("a") + " " + stock_of("b");
  EXPECT_EQ(status_of("o-cut"), "missing") << "the order itself never existed";
}

TEST_F(Recovery, PendingSagaThatCannotFinishIsCompensated) {
  write_log({product("a", 5), product("b", 1), placed("o-0", {{"b", 1}}), reserved("b", "o-0"),
             placed("o-1", {{"a", 1}, {"b", 1}}), reserved("a", "o-1")});
  start();
  ASSERT_TRUE(eventually([&] { return status_of("o-1") == "rejected"; })) << status_of("o-1");
  EXPECT_TRUE(eventually([&] { return stock_of("a") == "5/0/0 of 5"; })) << stock_of("a");
  EXPECT_EQ(n().order("o-1").state->rejection->code, "sold_out");
}

TEST_F(Recovery, AnOrderWithAnEventThisBuildCannotReadIsRefusedNotActedOnHalfRead) {
  // A newer build wrote an event type this one does not know into an order's stream, before
  // the snapshot the node starts from (so start-up never folds it). A read and a command of
  // that order answer as an unreadable store would; neither acts on the part it could read.
  write_log({product("a", 5), placed("o-1", {{"a", 1}}), reserved("a", "o-1"),
             OrderReserved{"o-1", clock_.now() + 600'000, 100, {{"a", 1, 100}}}});
  {
    store_options options;
    options.path = dir_.file("events.db");
    auto store = std::move(std::get<0>(open_sqlite_event_store(options)));
    append_batch future;
    future.streams.push_back({order_stream("o-1"),
                              store->stream_version(order_stream("o-1")),
                              {{"OrderGiftWrapped", R"({"order_id":"o-1"})", clock_.now()}}});
    ASSERT_FALSE(store->append_sync(std::move(future)).error);
    world w;
    w.forget_settled_orders = recovery_options{}.forget_settled_orders; // as the node recovers
    for (auto& env : store->read_from(0, 100))
      apply(w, env);
    ASSERT_EQ(w.decode_errors.size(), 1u);
    std::promise<std::optional<store_error>> saved;
    store->save_snapshot(snapshot{w.last_seq, clock_.now(), encode_world(w)},
                         [&](std::optional<store_error> e) { saved.set_value(e); });
    ASSERT_FALSE(saved.get_future().get());
  }
  start();
  auto read = n().order("o-1");
  ASSERT_TRUE(read.error);
  EXPECT_EQ(read.error->code, errc::unavailable);
  EXPECT_NE(read.error->message.find("OrderGiftWrapped"), std::string::npos) << read.error->message;
  auto cancel = command("o-1", cancel_order{"u-1"});
  EXPECT_EQ(cancel.status, 503) << cancel.body;
  EXPECT_EQ(stock_of("a"), "4/1/0 of 5") << "the hold stays: nothing was decided on half an order";
}

TEST_F(Recovery, AKeyedRejectionStoredByAnOlderNodeIsStillReplayed) {
  // Older nodes stored a keyed rejection's answer (and its OrderPlaced/OrderRejected); its
  // retry keeps getting that answer, marked as a replay.
  auto id = derive_order_id("u-1", "k-old");
  auto hash = request_hash(order_request{"u-1", {{"a", 1}}, "k-old"});
  std::string body =
      R"({"error":{"code":"sold_out","message":"product 'a' has only 0 units available"}})";
  write_log({product("a", 5), OrderPlaced{id, "u-1", {{"a", 1}}, "k-old", hash, clock_.now()},
             OrderRejected{id, "sold_out", "product 'a' has only 0 units available"}},
            {idempotency_record{"u-1", "k-old", hash, id, 409, body, clock_.now()}});
  start();
  auto again = place("u-1", {{"a", 1}}, "k-old");
  EXPECT_EQ(again.status, 409);
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(again.body, body);
  EXPECT_EQ(stock_of("a"), "5/0/0 of 5");
}

TEST_F(Recovery, AKeyWhoseOrderStreamExistsWithoutAStoredAnswerIsRefusedAndHoldsNothing) {
  // A stream for the key's order id with no stored answer (an older node rejected it without
  // a record): the saga finds out when its append meets the stream, gives back the unit it
  // held, and refuses the key rather than placing a second order under the same id.
  auto id = derive_order_id("u-1", "k-cut");
  auto hash = request_hash(order_request{"u-1", {{"a", 1}}, "k-cut"});
  write_log({product("a", 5), OrderPlaced{id, "u-1", {{"a", 1}}, "k-cut", hash, clock_.now()},
             OrderRejected{id, "sold_out", "gone"}});
  start();
  auto again = place("u-1", {{"a", 1}}, "k-cut");
  EXPECT_EQ(again.status, 422) << again.body;
  EXPECT_EQ(error_code_of(again), "idempotency_key_reused");
  EXPECT_TRUE(eventually([&] { return stock_of("a") == "5/0/0 of 5"; })) << stock_of("a");
  EXPECT_EQ(status_of(id), "rejected");
}

TEST_F(Recovery, ExpiredOrderWhoseUnitsWereStillHeldReleasesThemOnStart) {
  write_log({product("a", 2), placed("o-1", {{"a", 2}}), reserved("a", "o-1", 2),
             OrderReserved{"o-1", clock_.now() + 60000, 200, {{"a", 2, 100}}},
             OrderExpired{"o-1"}});
  start();
  EXPECT_TRUE(eventually([&] { return stock_of("a") == "2/0/0 of 2"; })) << stock_of("a");
}

TEST_F(Recovery, PaidOrderWhoseUnitsWereStillHeldSellsThemOnStart) {
  write_log({product("a", 2), placed("o-1", {{"a", 1}}), reserved("a", "o-1"),
             OrderReserved{"o-1", clock_.now() + 60000, 100, {{"a", 1, 100}}},
             OrderPaid{"o-1", "pay-1", "evt-1", 100}});
  start();
  EXPECT_TRUE(eventually([&] { return stock_of("a") == "1/0/1 of 2"; })) << stock_of("a");
  EXPECT_TRUE(eventually([&] { return n().stats().saga_actors == 0; }));
}

TEST_F(Recovery, HoldsThatFellDueWhileTheNodeWasDownExpireInBatchesOnStart) {
  start();
  constexpr int orders = 700; // more than one scheduler batch (256)
  define("a", orders, 0, 100, 60);
  std::vector<std::string> ids;
  for (int i = 0; i < orders; ++i) {
    auto a = place("u-" + std::to_string(i), {{"a", 1}});
    ASSERT_EQ(a.status, 201) << a.body;
    ids.push_back(order_id_of(a));
  }
  node_.reset();
  clock_.advance(std::chrono::hours(24)); // a long outage
  start(); // the resumed sagas re-arm their timers; all of them are overdue
  EXPECT_TRUE(eventually([&] { return stock_of("a") == "700/0/0 of 700"; })) << stock_of("a");
  for (auto& id : ids)
    ASSERT_EQ(status_of(id), "expired");
  EXPECT_TRUE(eventually([&] { return n().stats().saga_actors == 0; }));
}

TEST_F(Recovery, RestartKeepsEveryAcknowledgedOrderAndTheStockInvariant) {
  start();
  define("a", 10);
  std::vector<std::string> acknowledged;
  for (int i = 0; i < 12; ++i) {
    auto a = place("u-" + std::to_string(i), {{"a", 1}});
    if (a.status == 201)
      acknowledged.push_back(order_id_of(a));
  }
  ASSERT_EQ(acknowledged.size(), 10u);
  restart();
  for (auto& id : acknowledged)
    EXPECT_EQ(status_of(id), "reserved");
  EXPECT_EQ(stock_of("a"), "0/10/0 of 10");
  EXPECT_EQ(place("u-x", {{"a", 1}}).status, 409)
      << "the recovered state still refuses to oversell";
}
