// The partition log on a real three-server JetStream cluster: the stream refuses a writer
// whose expected sequence is stale, and R3 appends go on, none lost, when a server dies.
#include <signal.h>

#include <mutex>

#include "cluster/partition_log.hpp"
#include "cluster/partition_owner.hpp"
#include "tests/cluster/cluster_fixture.hpp"

using namespace flashsale;
using namespace flashsale::testing;
using std::chrono::seconds;

namespace {

std::unique_ptr<cluster::partition_log> open_log(std::shared_ptr<cluster::nats_link> link) {
  auto l = cluster::partition_log::open(std::move(link));
  if (auto e = std::get_if<std::string>(&l)) {
    ADD_FAILURE() << *e;
    return nullptr;
  }
  return std::move(std::get<0>(l));
}

std::uint64_t seq_of(const std::variant<std::uint64_t, cluster::append_refused>& r) {
  if (auto e = std::get_if<cluster::append_refused>(&r)) {
    ADD_FAILURE() << e->message;
    return 0;
  }
  return std::get<std::uint64_t>(r);
}

} // namespace

TEST_F(ClusterTest, AWriterThatMissedAClaimIsRefusedByTheStream) {
  auto old_owner = open_log(link);
  auto new_owner = open_log(connect_link("new-owner"));
  ASSERT_TRUE(old_owner && new_owner);
  auto claimed = old_owner->claim(3, "old", 10);
  ASSERT_TRUE(std::holds_alternative<std::uint64_t>(claimed))
    << std::get<cluster::partition_log::claim_refused>(claimed).message;
  auto expected = seq_of(old_owner->append(3, std::get<std::uint64_t>(claimed), "{\"n\":1}",
                                           "old", 10));
  ASSERT_GT(expected, 0u);

  auto taken = new_owner->claim(3, "new", 20); // the old owner's lease expired meanwhile
  ASSERT_TRUE(std::holds_alternative<std::uint64_t>(taken));
  auto late = old_owner->append(3, expected, "{\"n\":2}", "old", 10);
  ASSERT_TRUE(std::holds_alternative<cluster::append_refused>(late));
  EXPECT_TRUE(std::get<cluster::append_refused>(late).fenced)
    << std::get<cluster::append_refused>(late).message;
  EXPECT_GT(seq_of(new_owner->append(3, std::get<std::uint64_t>(taken), "{\"n\":3}", "new", 20)),
            0u);

  auto records = new_owner->read(3);
  ASSERT_TRUE(std::holds_alternative<std::vector<cluster::partition_record>>(records));
  std::string seen;
  for (auto& r : std::get<std::vector<cluster::partition_record>>(records))
    seen += r.owner + (r.type == cluster::partition_record::kind::claim ? ":claim " : ":" + r.body + " ");
  EXPECT_EQ(seen, "old:claim old:{\"n\":1} new:claim new:{\"n\":3} ");
  // Other partitions are other subjects: their sequences do not fence this one.
  EXPECT_EQ(std::get<std::uint64_t>(new_owner->last_seq(4)), 0u);
}

TEST_F(ClusterTest, AppendsGoOnAndNoneIsLostWhenAServerIsKilled) {
  auto log = open_log(link);
  ASSERT_TRUE(log);
  auto claimed = log->claim(0, "a", 1);
  ASSERT_TRUE(std::holds_alternative<std::uint64_t>(claimed));
  std::uint64_t expected = std::get<std::uint64_t>(claimed);
  std::vector<std::string> acknowledged;
  int unanswered = 0;
  auto append = [&](int n) {
    auto body = "{\"n\":" + std::to_string(n) + "}";
    for (int attempt = 0; attempt < 50; ++attempt) {
      auto r = log->append(0, expected, body, "a", 1);
      if (auto seq = std::get_if<std::uint64_t>(&r)) {
        expected = *seq;
        acknowledged.push_back(body);
        return;
      }
      ++unanswered;
      // No answer: it may have landed. Our own record at the head means it did.
      auto records = log->read(0);
      if (auto all = std::get_if<std::vector<cluster::partition_record>>(&records);
          all && !all->empty() && all->back().body == body) {
        expected = all->back().seq;
        acknowledged.push_back(body);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "append " << n << " never acknowledged";
  };
  for (int n = 0; n < 50; ++n)
    append(n);
  cluster->kill(0); // SIGKILL: maybe the server we are connected to, maybe a stream leader
  for (int n = 50; n < 100; ++n)
    append(n);
  ASSERT_EQ(acknowledged.size(), 100u);

  auto records = log->read(0);
  ASSERT_TRUE(std::holds_alternative<std::vector<cluster::partition_record>>(records))
    << std::get<std::string>(records);
  std::vector<std::string> stored;
  for (auto& r : std::get<std::vector<cluster::partition_record>>(records))
    if (r.type == cluster::partition_record::kind::events)
      stored.push_back(r.body);
  EXPECT_EQ(stored, acknowledged) << "every acknowledged append, once, in order";
  std::cout << "appends without an answer while a server died: " << unanswered << "\n";
}

// ---- partition_owner: lease + claim + rebuild, and what a refused append means ------------

namespace {

struct owner_events {
  std::mutex mutex;
  std::map<int, std::vector<cluster::partition_record>> served;
  std::vector<int> stopped;
};

std::unique_ptr<cluster::partition_owner> start_owner(std::shared_ptr<cluster::nats_link> link,
                                                      const std::string& node,
                                                      owner_events& seen) {
  cluster::partition_owner_options o;
  o.lease.node_id = node;
  o.lease.partitions = 1;
  o.lease.lease_ms = 2000;
  o.on_serving = [&seen](int p, const std::vector<cluster::partition_record>& history) {
    std::lock_guard lock(seen.mutex);
    seen.served[p] = history;
  };
  o.on_stopped = [&seen](int p) {
    std::lock_guard lock(seen.mutex);
    seen.stopped.push_back(p);
  };
  auto owner = cluster::partition_owner::start(std::move(link), o);
  if (auto e = std::get_if<std::string>(&owner)) {
    ADD_FAILURE() << *e;
    return nullptr;
  }
  return std::move(std::get<0>(owner));
}

} // namespace

TEST_F(ClusterTest, ANewOwnerRebuildsFromTheLogAndAnOwnerFencedByALaterClaimStopsServing) {
  auto log = open_log(link);
  ASSERT_TRUE(log);
  auto earlier = log->claim(0, "gone", 1); // a former owner's history
  ASSERT_TRUE(std::holds_alternative<std::uint64_t>(earlier));
  ASSERT_GT(seq_of(log->append(0, std::get<std::uint64_t>(earlier), "{\"sold\":1}", "gone", 1)),
            0u);

  owner_events seen;
  auto owner = start_owner(link, "a", seen);
  ASSERT_TRUE(owner);
  ASSERT_TRUE(eventually([&] { return owner->serving().count(0) == 1; }, seconds(20)));
  {
    std::lock_guard lock(seen.mutex);
    auto& history = seen.served[0];
    ASSERT_EQ(history.size(), 3u) << "the former owner's claim and record, then ours";
    EXPECT_EQ(history[1].body, "{\"sold\":1}");
    EXPECT_EQ(history[2].owner, "a");
    EXPECT_EQ(history[2].type, cluster::partition_record::kind::claim);
  }
  EXPECT_GT(seq_of(owner->append(0, "{\"sold\":2}")), 0u);

  // An append of ours that landed although its answer was lost: the head is still ours, so
  // the owner follows it and goes on.
  auto epoch = owner->serving().at(0);
  auto head = std::get<std::uint64_t>(log->last_seq(0));
  ASSERT_GT(seq_of(log->append(0, head, "{\"sold\":3}", "a", epoch)), 0u);
  auto refused = owner->append(0, "{\"sold\":4}");
  ASSERT_TRUE(std::holds_alternative<cluster::append_refused>(refused));
  EXPECT_EQ(owner->serving().count(0), 1u);
  EXPECT_GT(seq_of(owner->append(0, "{\"sold\":4}")), 0u);

  // A later owner's claim (its lease came after ours expired): we never write again.
  ASSERT_TRUE(std::holds_alternative<std::uint64_t>(log->claim(0, "b", epoch + 1000)));
  auto fenced = owner->append(0, "{\"sold\":5}");
  ASSERT_TRUE(std::holds_alternative<cluster::append_refused>(fenced));
  EXPECT_TRUE(std::get<cluster::append_refused>(fenced).fenced);
  EXPECT_EQ(owner->serving().count(0), 0u);
  {
    std::lock_guard lock(seen.mutex);
    EXPECT_EQ(seen.stopped, std::vector<int>{0});
  }
  auto again = owner->append(0, "{\"sold\":6}");
  ASSERT_TRUE(std::holds_alternative<cluster::append_refused>(again));
  EXPECT_FALSE(std::get<cluster::append_refused>(again).fenced) << "refused before the stream";
  // The lease it can no longer serve is given back (b's lease would have replaced it anyway).
  EXPECT_TRUE(eventually([&] {
    auto view = cluster::read_cluster_view(*link);
    auto* v = std::get_if<cluster::cluster_view>(&view);
    return v && (v->leases.count(0) == 0 || v->leases.at(0).epoch != epoch);
  }, seconds(10)));
  // Leases a takes again are older than b's claim in the log: a never serves the partition.
  EXPECT_EQ(owner->serving().count(0), 0u);
  // And a claim at an epoch older than the log's head is refused.
  auto stale = log->claim(0, "a", epoch);
  ASSERT_TRUE(std::holds_alternative<cluster::partition_log::claim_refused>(stale));
  EXPECT_TRUE(std::get<cluster::partition_log::claim_refused>(stale).superseded);
}
