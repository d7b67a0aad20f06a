// The fence race on the nats-server cluster mode runs on (>= 2.12, tests/cluster/fence_race.hpp):
// on a real three-server R3 cluster, two writers on two different servers publish at the same
// instant with the same expected sequence, 200 times per fence; the stream must store exactly one
// of each pair and refuse the other ("wrong last sequence"), never both (a fork of a partition
// log). bench/fence_race.sh runs the same race on Debian 12's 2.9.10 for comparison.
#include <gtest/gtest.h>

#include "tests/cluster/cluster_fixture.hpp"
#include "tests/cluster/fence_race.hpp"
#include "tests/cluster/raw_nats.hpp"

using namespace flashsale;
using namespace flashsale::testing;

namespace {

constexpr int trials = 200;

class FenceRace : public ClusterTest {
protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(ClusterTest::SetUp());
    a = std::make_unique<raw_nats>(cluster->url(0), cluster->node_security());
    b = std::make_unique<raw_nats>(cluster->url(1), cluster->node_security());
    ASSERT_TRUE(a->js) << a->error();
    ASSERT_TRUE(b->js) << b->error();
    std::string problem;
    ASSERT_TRUE(eventually([&] { return (problem = ensure_race_stream(a->js)).empty(); },
                           std::chrono::seconds(30)))
        << problem;
  }

  /// Exactly one of every pair stored, the other refused by the fence.
  void expect_no_fork(const race_tally& t) {
    EXPECT_EQ(t.setup_error, "");
    EXPECT_EQ(t.trials, trials) << to_string(t);
    EXPECT_EQ(t.forks, 0) << to_string(t);
    EXPECT_EQ(t.one_stored, trials) << to_string(t);
    for (auto& [reason, n] : t.refusals)
      EXPECT_NE(reason.find("wrong last sequence"), std::string::npos) << to_string(t);
    std::cout << to_string(t) << "\n";
  }

  std::unique_ptr<raw_nats> a, b;
};

} // namespace

TEST_F(FenceRace, TwoWritersOnTwoServersWithTheSameExpectedLastSequenceNeverBothLand) {
  expect_no_fork(run_fence_race(a->js, b->js, fence_kind::stream, trials));
}

TEST_F(FenceRace, TwoWritersOnTwoServersWithTheSameExpectedSubjectSequenceNeverBothLand) {
  expect_no_fork(run_fence_race(a->js, b->js, fence_kind::subject, trials));
}
