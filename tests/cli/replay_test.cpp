// `flashsale replay` as a user runs it: the state rebuilt offline equals what the node had,
// snapshots and --from-scratch agree, --verify catches an oversold log and names the seq,
// --stream and --at show history, and a running node's store can be read without a lock.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "persistence/sqlite_event_store.hpp"
#include "tests/actors/node_fixture.hpp"
#include "tests/support/child_process.hpp"

using namespace flashsale;
using namespace std::chrono_literals;
using flashsale::testing::child_process;

namespace {

class Replay : public flashsale::testing::node_fixture {
protected:
  void SetUp() override {}

  struct run_result {
    int code = -1;
    std::string output;
  };

  run_result replay(std::vector<std::string> extra) {
    std::vector<std::string> argv{FLASHSALE_BINARY, "replay", "--set", "data_dir=" + dir_.path()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    child_process p(argv);
    auto code = p.wait_exit(60s);
    return {code ? *code : -1, p.output()};
  }

  static nlohmann::json json_of(const run_result& r) {
    auto j = nlohmann::json::parse(r.output, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.output;
    return j;
  }

  /// A small sale: 3 products, orders that end paid, expired, cancelled, rejected, reserved.
  void run_a_sale() {
    start();
    define("a", 5, 0, 100, 60);
    define("b", 2);
    define("c", 10);
    auto paid = order_id_of(place("u-1", {{"a", 1}, {"c", 2}}));
    ASSERT_EQ(command(paid, payment_succeeded{"e1", "p1", {}}).status, 200);
    auto expiring = order_id_of(place("u-2", {{"a", 2}}));
    auto cancelled = order_id_of(place("u-3", {{"b", 1}}));
    ASSERT_EQ(command(cancelled, cancel_order{"u-3"}).status, 200);
    ASSERT_EQ(place("u-4", {{"b", 3}}).status, 409);
    ASSERT_EQ(place("u-5", {{"b", 2}}).status, 201);
    advance(61s);
    ASSERT_TRUE(flashsale::testing::eventually([&] { return status_of(expiring) == "expired"; }));
    ASSERT_TRUE(flashsale::testing::eventually([&] { return stock_of("a") == "4/0/1 of 5"; }));
  }
};

} // namespace

TEST_F(Replay, RebuildsTheStateTheNodeHad) {
  run_a_sale();
  auto last_seq = n().stats().last_seq;
  node_.reset();
  auto r = replay({"--json", "--verify"});
  ASSERT_EQ(r.code, 0) << r.output;
  auto j = json_of(r);
  EXPECT_EQ(j["events"], last_seq);
  EXPECT_EQ(j["products"]["a"].dump(), R"({"available":4,"reserved":0,"sold":1,"stock":5})");
  EXPECT_EQ(j["products"]["b"].dump(), R"({"available":0,"reserved":2,"sold":0,"stock":2})");
  EXPECT_EQ(j["products"]["c"].dump(), R"({"available":8,"reserved":0,"sold":2,"stock":10})");
  // The rejected order wrote nothing (a rejection changes nothing): the log holds only what
  // changed state.
  EXPECT_EQ(j["orders"].dump(),
            R"({"cancelled":1,"expired":1,"paid":1,"pending":0,"rejected":0,"reserved":1})");
  EXPECT_EQ(j["violations"].dump(), "[]");
}

TEST_F(Replay, SnapshotAndFromScratchGiveTheSameState) {
  // The node snapshots every 5 events; replay starts from the latest snapshot.
  auto c = config();
  c.store.snapshot_every = 5;
  auto started = node::start(c, node_options{&clock_});
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<node>>(started));
  node_ = std::move(std::get<0>(started));
  define("a", 100);
  for (int i = 0; i < 30; ++i)
    ASSERT_EQ(place("u-" + std::to_string(i), {{"a", 1}}).status, 201);
  auto last_seq = n().stats().last_seq;
  // The snapshotter follows the log at the lowest priority: wait for it, do not race it.
  ASSERT_TRUE(flashsale::testing::eventually([&] { return n().stats().snapshots_written > 0; }));
  node_.reset();
  auto with_snapshot = replay({});
  ASSERT_EQ(with_snapshot.code, 0) << with_snapshot.output;
  EXPECT_NE(with_snapshot.output.find("from the snapshot at seq"), std::string::npos)
      << with_snapshot.output;
  auto a = replay({"--json"});
  auto b = replay({"--json", "--from-scratch"});
  ASSERT_EQ(a.code, 0);
  EXPECT_EQ(a.output, b.output);
  EXPECT_EQ(json_of(a)["events"], last_seq);
}

TEST_F(Replay, VerifyFailsOnAnOversoldLogNamingTheFirstOffendingSeq) {
  store_options options;
  options.path = dir_.file("events.db");
  {
    auto opened = open_sqlite_event_store(options);
    ASSERT_TRUE(std::holds_alternative<std::unique_ptr<event_store>>(opened));
    auto& store = *std::get<0>(opened);
    std::vector<event> log{ProductDefined{"a", "A", 1, 100, 0, std::nullopt, 600},
                           StockReserved{"a", "o-1", "u-1", 1, 100},
                           StockReserved{"a", "o-2", "u-2", 1, 100}};
    for (auto& e : log) {
      auto version = store.stream_version(stream_of(e));
      auto env = to_envelope(e, version + 1, clock_.now());
      append_batch batch;
      batch.streams.push_back({env.stream, version, {{env.type, env.data, env.recorded_at}}});
      ASSERT_FALSE(store.append_sync(std::move(batch)).error);
    }
  }
  auto r = replay({"--verify"});
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("seq 3 (StockReserved)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("oversold"), std::string::npos) << r.output;
  EXPECT_EQ(replay({}).code, 0) << "without --verify the violations are only reported";
}

TEST_F(Replay, StreamShowsOneHistoryEventByEventAndAtStopsAtASeq) {
  run_a_sale();
  node_.reset();
  auto r = replay({"--stream", "a", "--json"});
  ASSERT_EQ(r.code, 0) << r.output;
  auto j = json_of(r);
  EXPECT_EQ(j["stream"], "product-a");
  ASSERT_GE(j["events"].size(), 4u);
  EXPECT_EQ(j["events"][0]["type"], "ProductDefined");
  EXPECT_EQ(j["events"][1]["type"], "StockReserved");
  EXPECT_EQ(j["events"][1]["state"]["reserved"], 1);

  auto at = replay({"--json", "--at", "1"});
  ASSERT_EQ(at.code, 0) << at.output;
  EXPECT_EQ(json_of(at)["events"], 1);
  EXPECT_EQ(json_of(at)["products"].size(), 1u);

  EXPECT_EQ(replay({"--stream", "nope"}).code, 1);
}

TEST_F(Replay, ReadsTheStoreOfARunningNodeWithoutTakingItsLock) {
  run_a_sale();
  auto r = replay({"--json", "--verify"}); // the node is still running and holds the lock
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(json_of(r)["events"], n().stats().last_seq);
  EXPECT_EQ(place("u-9", {{"c", 1}}).status, 201) << "the node was not disturbed";
}

TEST_F(Replay, MissingStoreIsAClearError) {
  auto r = replay({});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("no event store"), std::string::npos) << r.output;
}
