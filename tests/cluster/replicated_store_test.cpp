// Durable means replicated, against a real three-server JetStream cluster: a batch is
// reported committed only once its partitions' logs hold it; a group of batches travels as
// one record per partition; a partition not served here, or fenced by a newer owner, fails
// the batch and latches the store; and a new owner's store rebuilt from the logs holds every
// acknowledged event and idempotency record, stream by stream.
#include <atomic>
#include <future>
#include <map>
#include <mutex>

#include "cluster/partition_owner.hpp"
#include "cluster/partitioning.hpp"
#include "cluster/replicated_store.hpp"
#include "events/event.hpp"
#include "persistence/memory_event_store.hpp"
#include "tests/cluster/cluster_fixture.hpp"

using namespace flashsale;
using namespace flashsale::testing;
using std::chrono::seconds;

namespace {

constexpr int partitions = 4;

/// The only node of the cluster, once it serves every partition.
std::unique_ptr<cluster::partition_owner> owner_of_all(std::shared_ptr<cluster::nats_link> link) {
  cluster::partition_owner_options o;
  o.lease.node_id = "a";
  o.lease.partitions = partitions;
  o.lease.lease_ms = 2000;
  auto started = cluster::partition_owner::start(std::move(link), o);
  if (auto e = std::get_if<std::string>(&started)) {
    ADD_FAILURE() << *e;
    return nullptr;
  }
  auto owner = std::move(std::get<0>(started));
  if (!eventually([&] { return owner->serving().size() == partitions; }, seconds(20))) {
    ADD_FAILURE() << "the only node never served every partition";
    return nullptr;
  }
  return owner;
}

/// An id whose partition is `p`.
std::string id_in(int p, const std::string& stem) {
  for (int i = 0;; ++i) {
    auto id = stem + std::to_string(i);
    if (cluster::partition_of(id, partitions) == p)
      return id;
  }
}

append_batch order_batch(const std::string& product, const std::string& order, int n,
                         std::int64_t product_version) {
  append_batch b;
  stream_append stock;
  stock.stream = product_stream(product);
  stock.expected_version = product_version;
  stock.events.push_back({"StockReserved", "{\"n\":" + std::to_string(n) + "}", 1000 + n});
  stream_append placed;
  placed.stream = order_stream(order);
  placed.events.push_back({"OrderReserved", "{\"n\":" + std::to_string(n) + "}", 1000 + n});
  b.streams = {stock, placed};
  b.idempotency.push_back({"user-" + std::to_string(n), "key-" + std::to_string(n), "hash",
                           order, 201, "{}", 1000 + n});
  return b;
}

} // namespace

TEST_F(ClusterTest, ABatchIsCommittedOnlyOnceItsPartitionsLogsHoldIt) {
  auto owner = owner_of_all(link);
  ASSERT_TRUE(owner);
  cluster::replicated_event_store store(std::make_unique<memory_event_store>(), *owner,
                                        partitions);
  auto log_or = cluster::partition_log::open(link);
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<cluster::partition_log>>(log_or));
  auto& log = *std::get<0>(log_or);

  // The product in partition 1, the order in partition 2: one batch, two logs.
  auto product = id_in(1, "p"), order = id_in(2, "o");
  std::mutex m;
  std::string seen_at_done;
  std::promise<void> done;
  store.append(order_batch(product, order, 1, 0), [&](append_result r) {
    ASSERT_FALSE(r.error) << r.error->message;
    auto p1 = std::get<std::vector<cluster::partition_record>>(log.read(1));
    auto p2 = std::get<std::vector<cluster::partition_record>>(log.read(2));
    std::lock_guard lock(m);
    seen_at_done = p1.back().body.find("StockReserved") != std::string::npos
                       && p2.back().body.find("OrderReserved") != std::string::npos
                       && p2.back().body.find("key-1") != std::string::npos
                     ? "in both logs"
                     : "missing: " + p1.back().body + " | " + p2.back().body;
    done.set_value();
  });
  ASSERT_EQ(done.get_future().wait_for(seconds(20)), std::future_status::ready);
  EXPECT_EQ(seen_at_done, "in both logs");
}

TEST_F(ClusterTest, ANewOwnersStoreRebuiltFromTheLogsHoldsEveryAcknowledgedEvent) {
  auto owner = owner_of_all(link);
  ASSERT_TRUE(owner);
  auto* local = new memory_event_store();
  cluster::replicated_event_store store(std::unique_ptr<event_store>(local), *owner, partitions);
  // Many batches at once: the replicator folds what queued meanwhile into one record per
  // partition, so there are fewer records than batches.
  const std::string product = id_in(0, "p");
  std::atomic<int> acknowledged{0};
  for (int n = 0; n < 200; ++n)
    store.append(order_batch(product, "order-n" + std::to_string(n), n, n), [&](append_result r) {
      if (!r.error)
        ++acknowledged;
    });
  store.flush();
  ASSERT_EQ(acknowledged.load(), 200);

  memory_event_store rebuilt;
  auto log_or = cluster::partition_log::open(link);
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<cluster::partition_log>>(log_or));
  std::size_t records = 0;
  for (int p = 0; p < partitions; ++p) {
    auto log = std::get<std::vector<cluster::partition_record>>(std::get<0>(log_or)->read(p));
    records += log.size() - 1; // less the claim
    ASSERT_EQ(cluster::import_partition_log(log, rebuilt), std::nullopt);
  }
  EXPECT_LT(records, 2u * 200u) << "one record per partition per group, not per batch";
  // Per stream, the same events at the same versions (seqs differ: they are each store's).
  auto by_stream = [](event_store& s) {
    std::map<std::string, std::string> streams;
    for (auto& e : s.read_from(0, 100000))
      streams[e.stream] += std::to_string(e.version) + ":" + e.type + e.data + " ";
    return streams;
  };
  EXPECT_EQ(by_stream(rebuilt), by_stream(*local));
  auto key = rebuilt.find_idempotency("user-7", "key-7");
  ASSERT_TRUE(key);
  EXPECT_EQ(key->order_id, "order-n7");
  // Importing again conflicts: a log is imported into a store that does not hold it yet.
  auto again = std::get<std::vector<cluster::partition_record>>(std::get<0>(log_or)->read(0));
  EXPECT_NE(cluster::import_partition_log(again, rebuilt), std::nullopt);
}

TEST_F(ClusterTest, ABatchForAPartitionFencedByANewerOwnerFailsAndLatchesTheStore) {
  auto owner = owner_of_all(link);
  ASSERT_TRUE(owner);
  cluster::replicated_event_store store(std::make_unique<memory_event_store>(), *owner,
                                        partitions);
  auto product = id_in(3, "p"), order = id_in(3, "o");
  ASSERT_FALSE(store.append_sync(order_batch(product, order, 1, 0)).error);

  auto log_or = cluster::partition_log::open(connect_link("newer"));
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<cluster::partition_log>>(log_or));
  auto& log = *std::get<0>(log_or);
  ASSERT_TRUE(std::holds_alternative<std::uint64_t>(log.claim(3, "b", 1u << 30)));
  auto before = std::get<std::uint64_t>(log.last_seq(3));

  auto r = store.append_sync(order_batch(product, id_in(3, "q"), 2, 1));
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code, store_errc::store_failed);
  EXPECT_NE(r.error->message.find("partition 3 not replicated"), std::string::npos)
    << r.error->message;
  EXPECT_EQ(std::get<std::uint64_t>(log.last_seq(3)), before) << "nothing of ours after b's claim";
  // Latched: even a partition still served refuses now (the local store ran ahead of a log).
  ASSERT_TRUE(store.failure());
  auto other = store.append_sync(order_batch(id_in(0, "p"), id_in(0, "o"), 3, 0));
  ASSERT_TRUE(other.error);
  EXPECT_EQ(other.error->code, store_errc::store_failed);
}
