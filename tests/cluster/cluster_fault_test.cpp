// Cluster mode under the faults a real sale meets, end to end: `flashsale serve` nodes on a
// real three-server JetStream cluster (TLS, accounts, per-write sync), every process started
// here and stopped by its PID.
//   - a nats-server SIGKILLed (the one leading the placement bucket): products whose log
//     leader survived go on with at most a second without a 201; the others resume after
//     their log's election; nothing acknowledged is lost;
//   - a node joining and then leaving mid-sale: not one 503 on partitions that did not move;
//   - a forward whose client gave up: the owner, reached late, reserves nothing;
//   - three nodes starting together on a fresh cluster, again and again: every one joins.
#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "cluster/jetstream_api.hpp"
#include "cluster/partition_stream.hpp"
#include "tests/cluster/cluster_nodes_fixture.hpp"

using namespace flashsale;
using namespace flashsale::testing;
using steady = std::chrono::steady_clock;

namespace {

/// One buyer's calls on one product, as they completed.
struct call_record {
  steady::time_point at;
  int status = 0;
  std::string order_id;
};

/// Buyers, `per_product` threads per product, each order to the next node in turn; every
/// answer kept, in the order they completed.
class buyers {
public:
  buyers(std::vector<std::string> products, std::vector<int> ports, milliseconds pause,
         int per_product = 1)
    : products_(std::move(products)), ports_(std::move(ports)), pause_(pause) {
    for (std::size_t i = 0; i < products_.size(); ++i)
      for (int k = 0; k < per_product; ++k)
        threads_.emplace_back([this, i, k] { run(i, k); });
  }
  ~buyers() { stop(); }

  void stop() {
    done_ = true;
    for (auto& t : threads_)
      if (t.joinable())
        t.join();
    for (auto& [product, calls] : calls_)
      std::sort(calls.begin(), calls.end(),
                [](const call_record& a, const call_record& b) { return a.at < b.at; });
  }

  const std::vector<call_record>& of(const std::string& product) const {
    return calls_.at(product);
  }

  /// The longest time between two 201s of `product` (or a window's edge and a 201) within
  /// [from, to].
  milliseconds longest_gap(const std::string& product, steady::time_point from,
                           steady::time_point to) const {
    auto last = from;
    steady::duration gap{0};
    for (auto& c : calls_.at(product)) {
      if (c.status != 201 || c.at < from || c.at > to)
        continue;
      gap = std::max(gap, c.at - last);
      last = c.at;
    }
    gap = std::max(gap, to - last);
    return std::chrono::duration_cast<milliseconds>(gap);
  }

  std::map<int, int> statuses(const std::string& product) const {
    std::map<int, int> out;
    for (auto& c : calls_.at(product))
      ++out[c.status];
    return out;
  }

private:
  void run(std::size_t i, int k) {
    auto& product = products_[i];
    std::vector<call_record> mine;
    for (int n = 0; !done_; ++n) {
      auto port = ports_[static_cast<std::size_t>(n + k + static_cast<int>(i)) % ports_.size()];
      auto r = call(
          port, "POST", "/orders",
          order_body("b" + std::to_string(i) + "-" + std::to_string(k) + "-" + std::to_string(n),
                     product));
      call_record c{steady::now(), r.status, {}};
      if (r.status == 201)
        c.order_id = r.body["order_id"].get<std::string>();
      mine.push_back(std::move(c));
      std::this_thread::sleep_for(pause_);
    }
    std::lock_guard lock(mutex_);
    auto& all = calls_[product];
    all.insert(all.end(), mine.begin(), mine.end());
  }

  std::vector<std::string> products_;
  std::vector<int> ports_;
  milliseconds pause_;
  std::atomic<bool> done_{false};
  std::mutex mutex_;
  std::map<std::string, std::vector<call_record>> calls_;
  std::vector<std::thread> threads_;
};

class ClusterFaultTest : public ClusterNodesTest {
protected:
  std::vector<int> ports() {
    std::vector<int> out;
    for (auto& m : members)
      if (m.process)
        out.push_back(m.port);
    return out;
  }

  /// Every acknowledged order readable, and each product holding at least those units.
  void expect_nothing_lost(const buyers& crowd, const std::vector<std::string>& products) {
    for (auto& product : products) {
      int acknowledged = 0;
      for (auto& c : crowd.of(product))
        if (c.status == 201) {
          ++acknowledged;
          ASSERT_EQ(call(members[0].port, "GET", "/orders/" + c.order_id).status, 200)
              << product << " " << c.order_id;
        }
      auto view = call(members[0].port, "GET", "/products/" + product);
      ASSERT_EQ(view.status, 200) << product;
      EXPECT_GE(view.body["reserved"].get<int>() + view.body["sold"].get<int>(), acknowledged)
          << view.body.dump();
    }
  }
};

} // namespace

TEST_F(ClusterFaultTest, AServersDeathCostsASecondAtMostWhereTheLogsLeaderSurvived) {
  for (auto name : {"a", "b", "c"})
    ASSERT_NO_FATAL_FAILURE(start_member(name));
  ASSERT_TRUE(eventually([&] { return settled(); }, seconds(40)));
  std::vector<std::string> products;
  for (int p = 0; p < partition_count; ++p) {
    products.push_back(product_in(p, "kill-"));
    ASSERT_NO_FATAL_FAILURE(define(products.back(), 1000000, 600));
  }
  cluster::partition_stream logs(link, {});
  // Two buyers per product, each waiting for its answer: a forwarded order that was inside the
  // killed server at its death is lost there, and its buyer hears 503 (an unknown outcome)
  // only after the forward's 2 s timeout. That costs that buyer, not the product's sale, which
  // is what the bound is about; one buyer alone would measure its own wait.
  buyers crowd(products, ports(), milliseconds(50), 2);
  std::this_thread::sleep_for(seconds(2)); // a sale under way
  auto bucket_leader = link->stream_leader("KV_flashsale_cluster");
  auto victim = cluster->index_of(bucket_leader);
  ASSERT_GE(victim, 0) << "bucket leader '" << bucket_leader << "'";
  std::map<std::string, bool> leader_died; // product -> its log's leader was the victim
  for (int p = 0; p < partition_count; ++p) {
    auto r = logs.placement(p);
    ASSERT_TRUE(r) << "partition " << p;
    leader_died[products[static_cast<std::size_t>(p)]] = r->leader == bucket_leader;
  }
  auto killed_at = steady::now();
  cluster->kill(victim);
  std::this_thread::sleep_for(seconds(14)); // elections take 4-9 s
  auto until = steady::now();
  crowd.stop();

  std::cout << "killed " << bucket_leader << " (the placement bucket's leader):\n";
  for (auto& product : products) {
    auto gap = crowd.longest_gap(product, killed_at - milliseconds(500), until);
    auto s = crowd.statuses(product);
    std::cout << "  " << product << (leader_died[product] ? " (its log's leader died)" : "")
              << ": longest without a 201 " << gap.count() << " ms; 201x" << s[201] << " 503x"
              << s[503] << "\n";
    for (auto& [status, n] : s)
      EXPECT_TRUE(status == 201 || status == 503) << product << " " << status << " x" << n;
    if (leader_died[product])
      EXPECT_LT(gap, seconds(13)) << product << " never came back";
    else
      EXPECT_LE(gap, milliseconds(1000)) << product << ": its log's leader survived";
  }
  ASSERT_NO_FATAL_FAILURE(expect_nothing_lost(crowd, products));
}

TEST_F(ClusterFaultTest, ANodeJoiningAndLeavingMidSaleCostsNothingOnPartitionsThatStay) {
  partition_count = 12;
  for (auto name : {"a", "b", "c"})
    ASSERT_NO_FATAL_FAILURE(start_member(name));
  ASSERT_TRUE(eventually([&] { return settled(); }, seconds(40)));
  std::vector<std::string> products;
  for (int p = 0; p < partition_count; ++p) {
    products.push_back(product_in(p, "move-"));
    ASSERT_NO_FATAL_FAILURE(define(products.back(), 1000000, 600));
  }
  auto before = serving();
  buyers crowd(products, ports(), milliseconds(40)); // through a, b, c only: d is not yet
  std::this_thread::sleep_for(seconds(1));           // in the balancer's rotation
  ASSERT_NO_FATAL_FAILURE(start_member("d"));
  ASSERT_TRUE(eventually([&] { return settled(); }, seconds(40)));
  auto joined = serving();
  std::this_thread::sleep_for(seconds(1));
  members[3].process->signal(SIGTERM);
  ASSERT_TRUE(members[3].process->wait_exit(seconds(30)));
  members[3].process.reset();
  ASSERT_TRUE(eventually([&] { return settled(); }, seconds(40)));
  auto left = serving();
  std::this_thread::sleep_for(seconds(1));
  crowd.stop();

  int moved = 0;
  std::cout << "a fourth node joined, then left:\n";
  for (int p = 0; p < partition_count; ++p) {
    auto& product = products[static_cast<std::size_t>(p)];
    bool stayed = before[p] == joined[p] && joined[p] == left[p];
    moved += stayed ? 0 : 1;
    auto s = crowd.statuses(product);
    std::cout << "  partition " << p << (stayed ? " stayed" : " moved") << ": 201x" << s[201]
              << " 503x" << s[503] << "\n";
    EXPECT_GT(s[201], 0) << product;
    if (stayed)
      EXPECT_EQ(s[503], 0) << "partition " << p << " did not move";
  }
  EXPECT_EQ(moved, 3) << "d took its share (3 of 12) and gave it back";
  ASSERT_NO_FATAL_FAILURE(expect_nothing_lost(crowd, products));
}

TEST_F(ClusterFaultTest, AForwardWhoseClientGaveUpReservesNothingWhenItArrivesLate) {
  lease_ms = 20000; // the owner stays the owner while it is paused (its window is 10 s)
  for (auto name : {"a", "b"})
    ASSERT_NO_FATAL_FAILURE(start_member(name));
  ASSERT_TRUE(eventually([&] { return settled(); }, seconds(60)));
  auto product = product_served_by(0, "late-");
  ASSERT_NO_FATAL_FAILURE(define(product, 10, 600));
  members[0].process->signal(SIGSTOP);
  // Through b: the forward waits 2 s for a paused owner, then the buyer hears 503.
  auto late = call(members[1].port, "POST", "/orders", order_body("late-buyer", product));
  EXPECT_EQ(late.status, 503) << late.text;
  EXPECT_FALSE(late.retry_after.empty());
  members[0].process->signal(SIGCONT);
  // The paused owner now reads the forwarded request, past its deadline: it must not hold a
  // unit for a buyer who was told 503. An order after it shows the owner got that far.
  // (b sheds writes for a moment after one took 2 s: the next buyer retries, as told to.)
  answer next;
  ASSERT_TRUE(eventually(
      [&] {
        next = call(members[1].port, "POST", "/orders", order_body("next-buyer", product));
        return next.status != 503;
      },
      seconds(10)));
  ASSERT_EQ(next.status, 201) << next.text;
  auto view = call(members[1].port, "GET", "/products/" + product);
  EXPECT_EQ(view.body["reserved"], 1) << view.body.dump();
  EXPECT_EQ(view.body["available"], 9) << view.body.dump();
}

TEST_F(ClusterFaultTest, ThreeNodesStartingTogetherOnAFreshClusterAllJoin) {
  const int runs = std::getenv("COLD_STARTS") ? std::atoi(std::getenv("COLD_STARTS")) : 50;
  cluster::partition_stream logs(link, {});
  int failures = 0;
  auto began = steady::now();
  for (int run = 0; run < runs; ++run) {
    // A fresh cluster state: no buckets, no logs (the servers stay up).
    for (auto name : {std::string("KV_flashsale_cluster"), std::string("KV_flashsale_cluster_meta"),
                      std::string("FLASHSALE_SNAPSHOTS")})
      cluster::jetstream_request(*link, "STREAM.DELETE." + name, "", 5000);
    for (int p = 0; p < partition_count; ++p)
      cluster::jetstream_request(*link, "STREAM.DELETE." + logs.names().stream(p), "", 5000);
    members.clear();
    members.resize(3);
    for (int i = 0; i < 3; ++i) // at once: none waits for another to listen
      spawn(std::string(1, static_cast<char>('a' + i)) + std::to_string(run),
            members[static_cast<std::size_t>(i)]);
    for (auto& m : members)
      ASSERT_NO_FATAL_FAILURE(await_port(m)) << "cold start " << run;
    bool joined = !HasFatalFailure() && eventually([&] { return settled(); }, seconds(30));
    if (!joined) {
      ++failures;
      for (auto& m : members)
        if (m.process)
          std::cout << "---- cold start " << run << ", node " << m.name << " ----\n"
                    << m.process->output() << "/health: " << call(m.port, "GET", "/health").text
                    << "\n";
    }
    for (auto& m : members)
      if (m.process) {
        m.process->signal(SIGTERM);
        m.process->wait_exit(seconds(30));
        m.process.reset();
      }
    if (HasFatalFailure())
      break;
  }
  std::cout << runs << " cold starts of three nodes at once: " << failures << " failed, "
            << std::chrono::duration_cast<seconds>(steady::now() - began).count() << " s\n";
  EXPECT_EQ(failures, 0);
}
