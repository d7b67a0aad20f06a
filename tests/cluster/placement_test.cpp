// Placement in the KV bucket against a real three-server JetStream cluster: shares even out
// with one owner per partition, a join or a leave moves only what it must, and the bucket's
// leader dying moves nothing (the bucket decides placement only, and nobody is judged on
// heartbeats it could not have written).
#include <signal.h>

#include <mutex>
#include <set>

#include "cluster/placement.hpp"
#include "tests/cluster/cluster_fixture.hpp"

using namespace flashsale;
using namespace flashsale::cluster;
using namespace flashsale::testing;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

constexpr int partitions = 12;
constexpr std::int64_t lease_ms = 1200;

/// One node's placement and what its callbacks said, as a node would follow them.
struct member {
  std::mutex mutex;
  std::set<int> held;
  int assigned = 0, unassigned = 0, drained = 0;
  std::unique_ptr<placement> keeper;

  std::set<int> now() {
    std::lock_guard lock(mutex);
    return held;
  }
};

class PlacementTest : public ClusterTest {
protected:
  member& join(const std::string& id) {
    auto m = std::make_unique<member>();
    auto* raw = m.get();
    placement_options o;
    o.node_id = id;
    o.partitions = partitions;
    o.lease_ms = lease_ms;
    o.on_assigned = [raw](int p, std::uint64_t) {
      std::lock_guard lock(raw->mutex);
      raw->held.insert(p);
      ++raw->assigned;
    };
    o.on_unassigned = [raw](int p) {
      std::lock_guard lock(raw->mutex);
      raw->held.erase(p);
      ++raw->unassigned;
    };
    o.drain = [raw](int p) {
      std::lock_guard lock(raw->mutex);
      raw->held.erase(p);
      ++raw->drained;
    };
    auto started = placement::start(link, o);
    if (auto e = std::get_if<std::string>(&started))
      ADD_FAILURE() << *e;
    else
      m->keeper = std::move(std::get<0>(started));
    members.push_back(std::move(m));
    return *members.back();
  }

  /// Every partition held by exactly one member, and shares as even as they can be.
  bool settled() {
    std::map<int, int> owners;
    std::size_t live = 0, min_share = partitions, max_share = 0;
    for (auto& m : members) {
      if (!m->keeper)
        continue;
      ++live;
      auto held = m->now();
      min_share = std::min(min_share, held.size());
      max_share = std::max(max_share, held.size());
      for (int p : held)
        ++owners[p];
    }
    if (owners.size() != partitions)
      return false;
    for (auto& [p, n] : owners)
      if (n != 1)
        return false;
    return max_share - min_share <= 1 && live > 0;
  }

  std::vector<std::unique_ptr<member>> members;
};

} // namespace

TEST_F(PlacementTest, ThreeNodesShareThePartitionsEvenlyWithOneOwnerEach) {
  join("a");
  join("b");
  join("c");
  ASSERT_TRUE(eventually([&] { return settled(); }, seconds(20)));
  for (auto& m : members)
    EXPECT_EQ(m->now().size(), 4u);
  EXPECT_EQ(shares(), (std::map<std::string, int>{{"a", 4}, {"b", 4}, {"c", 4}}));
}

TEST_F(PlacementTest, AJoiningNodeTakesOnlyItsShareAndALeavingOneHandsItsOwnOver) {
  auto& a = join("a");
  auto& b = join("b");
  ASSERT_TRUE(eventually([&] { return settled(); }, seconds(20)));
  auto a_before = a.now(), b_before = b.now();
  auto& c = join("c");
  ASSERT_TRUE(eventually([&] { return settled() && c.now().size() == 4; }, seconds(20)));
  // Only what c took moved: a and b kept the rest of what they held.
  int kept = 0;
  for (int p : a.now())
    kept += a_before.count(p) ? 1 : 0;
  for (int p : b.now())
    kept += b_before.count(p) ? 1 : 0;
  EXPECT_EQ(kept, 8);
  EXPECT_EQ(a.drained + b.drained, 4) << "moved by hand-over (drain), not by a lost lease";
  EXPECT_EQ(a.unassigned + b.unassigned, 0);
  // c leaves: it drains its four, and a and b take them at once (not after a lease).
  auto left_at = std::chrono::steady_clock::now();
  c.keeper.reset();
  ASSERT_TRUE(eventually([&] { return settled(); }, seconds(10)));
  EXPECT_LT(std::chrono::steady_clock::now() - left_at, milliseconds(lease_ms));
}

TEST_F(PlacementTest, TheBucketLeadersDeathMovesNoPartition) {
  join("a");
  join("b");
  join("c");
  ASSERT_TRUE(eventually([&] { return settled(); }, seconds(20)));
  std::vector<std::set<int>> before;
  for (auto& m : members)
    before.push_back(m->now());
  auto leader = link->stream_leader("KV_flashsale_cluster");
  auto index = cluster->index_of(leader);
  ASSERT_GE(index, 0) << "leader '" << leader << "'";
  cluster->kill(index);
  // The bucket elects a new leader (seconds); heartbeats fail meanwhile, for everyone alike.
  // Then it answers again: every node still holds what it held, and never let go of it.
  ASSERT_TRUE(eventually([&] { return !link->stream_leader("KV_flashsale_cluster").empty(); },
                         seconds(30)));
  // Watched through three more leases of the keepers' views: nothing moves at any moment.
  auto until = std::chrono::steady_clock::now() + milliseconds(3 * lease_ms);
  while (std::chrono::steady_clock::now() < until) {
    for (std::size_t i = 0; i < members.size(); ++i)
      ASSERT_EQ(members[i]->now(), before[i]) << "member " << i;
    std::this_thread::sleep_for(milliseconds(20));
  }
  for (std::size_t i = 0; i < members.size(); ++i) {
    EXPECT_EQ(members[i]->now(), before[i]) << "member " << i;
    EXPECT_EQ(members[i]->unassigned, 0) << "member " << i;
    EXPECT_EQ(members[i]->drained, 0) << "member " << i;
  }
}
