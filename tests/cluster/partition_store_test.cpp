// A partition's store on its stream, against a real three-server JetStream cluster: commits
// are the log's messages (one per event, one atomic batch per group); a new owner's claim
// fences the old one; a snapshot and the tail rebuild the state; an idle owner heartbeats and
// keeps serving, one cut off from the log falls silent within lease/2; the next owner waits
// out the previous one's window unless it released.
#include <signal.h>

#include <future>
#include <set>

#include "cluster/partition_store.hpp"
#include "events/event.hpp"
#include "tests/cluster/cluster_fixture.hpp"

using namespace flashsale;
using namespace flashsale::cluster;
using namespace flashsale::testing;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

constexpr int part = 3;

append_batch order_batch(const std::string& order, std::int64_t order_version,
                         const std::string& product, std::int64_t product_version) {
  append_batch b;
  b.streams.push_back({product_stream(product),
                       product_version,
                       {{"StockReserved", R"({"order_id":")" + order + R"(","quantity":1})", 1000}},
                       true});
  b.streams.push_back({order_stream(order),
                       order_version,
                       {{"OrderPlaced", R"({"order_id":")" + order + R"("})", 1000},
                        {"OrderReserved", R"({"order_id":")" + order + R"("})", 1000}},
                       false});
  return b;
}

class PartitionStoreTest : public ClusterTest {
protected:
  void SetUp() override {
    ClusterTest::SetUp();
    log = std::make_unique<partition_stream>(link, partition_stream_options{});
    std::string problem; // a fresh cluster may not place R3 streams for a moment
    ASSERT_TRUE(eventually(
        [&] {
          auto opened = snapshot_store::open(link);
          if (auto e = std::get_if<std::string>(&opened)) {
            problem = *e;
            return false;
          }
          snapshots = std::move(std::get<0>(opened));
          return true;
        },
        seconds(30)))
        << problem;
  }

  struct failure_seen {
    std::atomic<int> count{0};
    std::atomic<bool> another{false};
  };

  std::unique_ptr<partition_store> open(const std::string& node, std::uint64_t epoch,
                                        failure_seen* seen = nullptr,
                                        std::int64_t lease_ms = 2000) {
    partition_store_options o;
    o.partition = part;
    o.writer = {node, epoch};
    o.lease_ms = lease_ms;
    o.on_failure = [seen](const std::string&, bool another) {
      if (seen) {
        seen->another = another;
        ++seen->count;
      }
    };
    auto opened = partition_store::open(*log, *snapshots, o);
    if (auto refused = std::get_if<open_refused>(&opened)) {
      ADD_FAILURE() << refused->message;
      return nullptr;
    }
    return std::move(std::get<0>(opened));
  }

  std::vector<stored_record> whole_log() {
    std::vector<stored_record> out;
    auto last = log->last_seq(part);
    EXPECT_TRUE(std::holds_alternative<std::uint64_t>(last));
    EXPECT_FALSE(log->read(part, 0, std::get<std::uint64_t>(last),
                           [&](stored_record&& r) { out.push_back(std::move(r)); }));
    return out;
  }

  std::unique_ptr<partition_stream> log;
  std::unique_ptr<snapshot_store> snapshots;
};

} // namespace

TEST_F(PartitionStoreTest, ACommitIsTheLogsMessagesOneAtomicBatchAndReadsBack) {
  auto a = open("a", 1);
  ASSERT_TRUE(a);
  auto r = a->append_sync(order_batch("o-1", 0, "p-1", 0));
  ASSERT_FALSE(r.error) << r.error->message;
  ASSERT_EQ(r.committed.size(), 3u);
  auto records = whole_log();
  // claim, then the three events at the sequences the store reported
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0].kind, record_kind::claim);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(records[i + 1].kind, record_kind::event);
    EXPECT_EQ(static_cast<std::int64_t>(records[i + 1].seq), r.committed[i].seq);
    EXPECT_EQ(records[i + 1].writer, (writer_id{"a", 1}));
    auto e = envelope_of_body(records[i + 1].body);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->stream, r.committed[i].stream);
    EXPECT_EQ(e->seq, r.committed[i].seq);
  }
  EXPECT_EQ(records[1].subject, "flashsale.p.3.product.p-1.StockReserved");
  EXPECT_EQ(records[3].subject, "flashsale.p.3.order.o-1.OrderReserved");
  EXPECT_EQ(a->read_stream(order_stream("o-1"), 0).events.size(), 2u);
  EXPECT_EQ(a->last_seq(), r.committed.back().seq);
  // A version that does not follow the stream's is refused, and nothing is appended.
  append_batch again;
  again.streams.push_back({order_stream("o-1"), 0, {{"OrderPlaced", "{}", 1000}}, false});
  auto stale = a->append_sync(std::move(again));
  ASSERT_TRUE(stale.error);
  EXPECT_EQ(stale.error->code, store_errc::version_conflict);
  EXPECT_EQ(whole_log().size(), 4u);
  EXPECT_FALSE(a->failure());
  // One whose single writer (an inventory) is behind the store latches it: its state is wrong.
  auto behind = a->append_sync(order_batch("o-9", 0, "p-1", 0));
  ASSERT_TRUE(behind.error);
  EXPECT_EQ(behind.error->code, store_errc::store_failed);
  EXPECT_TRUE(a->failure());
  EXPECT_EQ(whole_log().size(), 4u);
}

TEST_F(PartitionStoreTest, GroupsLargerThanABatchTravelInSeveralBatchesInOrder) {
  partition_store_options o;
  o.partition = part;
  o.writer = {"a", 1};
  o.max_batch_messages = 7; // three orders of three events do not fit one batch
  auto opened = partition_store::open(*log, *snapshots, o);
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<partition_store>>(opened));
  auto& a = *std::get<0>(opened);
  std::vector<std::future<append_result>> results;
  for (int i = 0; i < 30; ++i) {
    auto done = std::make_shared<std::promise<append_result>>();
    results.push_back(done->get_future());
    a.append(order_batch("o-" + std::to_string(i), 0, "p-" + std::to_string(i), 0),
             [done](append_result r) { done->set_value(std::move(r)); });
  }
  std::int64_t previous = 1; // the claim
  for (auto& f : results) {
    auto r = f.get();
    ASSERT_FALSE(r.error) << r.error->message;
    for (auto& e : r.committed)
      EXPECT_EQ(e.seq, ++previous) << "sequences follow the order of the appends";
  }
  EXPECT_EQ(whole_log().size(), 91u);
}

TEST_F(PartitionStoreTest, ANewOwnersClaimFencesTheFormerOneAtItsNextAppend) {
  failure_seen seen;
  auto a = open("a", 1, &seen);
  ASSERT_TRUE(a);
  ASSERT_FALSE(a->append_sync(order_batch("o-1", 0, "p-1", 0)).error);
  auto b = open("b", 2);
  ASSERT_TRUE(b);
  auto late = a->append_sync(order_batch("o-2", 0, "p-1", 1));
  ASSERT_TRUE(late.error);
  EXPECT_EQ(late.error->code, store_errc::store_failed);
  EXPECT_EQ(seen.count, 1);
  EXPECT_TRUE(seen.another);
  EXPECT_FALSE(a->serving());
  EXPECT_TRUE(a->append_sync(order_batch("o-3", 0, "p-9", 0)).error) << "latched for good";
  // b saw a's events (its tail) and goes on after them.
  EXPECT_EQ(b->read_stream(order_stream("o-1"), 0).events.size(), 2u);
  ASSERT_FALSE(b->append_sync(order_batch("o-2", 0, "p-1", 1)).error);
  auto records = whole_log();
  bool after_claim = false;
  for (auto& r : records) {
    if (r.kind == record_kind::claim && r.writer == writer_id{"b", 2})
      after_claim = true;
    else if (after_claim)
      EXPECT_EQ(r.writer, (writer_id{"b", 2})) << "seq " << r.seq;
  }
  // An owner whose lease is older than the log's latest claim never claims.
  partition_store_options old;
  old.partition = part;
  old.writer = {"c", 1};
  auto refused = partition_store::open(*log, *snapshots, old);
  ASSERT_TRUE(std::holds_alternative<open_refused>(refused));
  EXPECT_TRUE(std::get<open_refused>(refused).superseded);
}

TEST_F(PartitionStoreTest, ASnapshotAndTheTailRebuildTheStoreAndOlderOrdersComeFromTheLog) {
  auto a = open("a", 1);
  ASSERT_TRUE(a);
  for (int i = 0; i < 5; ++i)
    ASSERT_FALSE(a->append_sync(order_batch("o-" + std::to_string(i), 0, "p-1", i)).error);
  append_batch keyed = order_batch("o-k", 0, "p-1", 5);
  keyed.idempotency.push_back({"u-1", "key-1", "h", "o-k", 201, "{}", 5});
  ASSERT_FALSE(a->append_sync(std::move(keyed)).error);
  auto covers = a->last_seq();
  std::promise<std::optional<store_error>> saved;
  a->save_snapshot({covers, 123, "the world at " + std::to_string(covers)},
                   [&](std::optional<store_error> e) { saved.set_value(e); });
  ASSERT_FALSE(saved.get_future().get());
  ASSERT_FALSE(a->append_sync(order_batch("o-late", 0, "p-1", 6)).error);
  a->release();
  a.reset();

  auto b = open("b", 2);
  ASSERT_TRUE(b);
  auto s = b->latest_snapshot();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->seq, covers);
  EXPECT_EQ(s->data, "the world at " + std::to_string(covers));
  EXPECT_EQ(b->report().snapshot_covers, static_cast<std::uint64_t>(covers));
  auto tail = b->read_from(s->seq, 100);
  ASSERT_EQ(tail.size(), 3u) << "only what came after the snapshot is read back";
  EXPECT_EQ(tail.front().stream, "product-p-1");
  EXPECT_EQ(b->last_seq(), tail.back().seq);
  // The key from the snapshot is known; an order before it is read from the log's leader.
  ASSERT_TRUE(b->find_idempotency("u-1", "key-1"));
  EXPECT_EQ(b->find_idempotency("u-1", "key-1")->order_id, "o-k");
  auto old = b->read_stream(order_stream("o-2"), 0);
  ASSERT_FALSE(old.error);
  ASSERT_EQ(old.events.size(), 2u);
  EXPECT_EQ(old.events[1].type, "OrderReserved");
  EXPECT_EQ(b->stream_version(order_stream("o-2")), 2);
  EXPECT_TRUE(b->read_stream(order_stream("o-never"), 0).events.empty());
  // ...and it follows on: a payment of that old order appends at its version.
  append_batch paid;
  paid.streams.push_back(
      {order_stream("o-2"), 2, {{"OrderPaid", R"({"order_id":"o-2"})", 9}}, false});
  ASSERT_FALSE(b->append_sync(std::move(paid)).error);
  EXPECT_EQ(b->read_stream(order_stream("o-2"), 0).events.size(), 3u);
}

TEST_F(PartitionStoreTest, AReleasedPartitionIsServedAtOnceAnUnreleasedOneAfterTheFormerWindow) {
  const std::int64_t lease = 2000;
  auto a = open("a", 1, nullptr, lease);
  ASSERT_TRUE(a);
  a->release();
  a.reset();
  auto b = open("b", 2, nullptr, lease);
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->report().previous_released);
  EXPECT_LE(b->serve_after(), std::chrono::steady_clock::now());
  EXPECT_TRUE(b->serving());
  // b does not release: c must wait until b's last record is lease/2 old (as c saw it).
  auto c = open("c", 3, nullptr, lease);
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->report().previous_released);
  EXPECT_GE(c->serve_after() - std::chrono::steady_clock::now(), milliseconds(lease / 2 - 300));
  EXPECT_FALSE(c->serving());
  EXPECT_TRUE(eventually([&] { return c->serving(); }, milliseconds(lease)));
}

TEST_F(PartitionStoreTest,
       AnIdleOwnerKeepsServingAndOneCutOffFromTheLogFallsSilentWithinHalfALease) {
  const std::int64_t lease = 2000;
  auto a = open("a", 1, nullptr, lease);
  ASSERT_TRUE(a);
  // Idle for two leases: heartbeats keep it serving (each one replaces the one before).
  auto until = std::chrono::steady_clock::now() + milliseconds(2 * lease);
  while (std::chrono::steady_clock::now() < until) {
    ASSERT_TRUE(a->serving());
    std::this_thread::sleep_for(milliseconds(50));
  }
  int beats = 0;
  for (auto& r : whole_log())
    beats += r.kind == record_kind::beat ? 1 : 0;
  EXPECT_EQ(beats, 1) << "a heartbeat rolls up the ones before it";
  // Every server paused: no append can be acknowledged, so it stops answering by itself.
  for (int i = 0; i < 3; ++i)
    cluster->pause(i);
  auto paused_at = std::chrono::steady_clock::now();
  EXPECT_TRUE(eventually([&] { return !a->serving(); }, milliseconds(lease)));
  EXPECT_LE(std::chrono::steady_clock::now() - paused_at, milliseconds(lease / 2 + 100));
  for (int i = 0; i < 3; ++i)
    cluster->resume(i);
  // Back: nobody claimed meanwhile, so its next heartbeat lets it serve again.
  EXPECT_TRUE(eventually([&] { return a->serving(); }, seconds(15)));
}
