// The nemesis schedule: a seed replays the same faults, steps never overlap, combinations hit
// different targets, and over many seeds every kind of fault is drawn.
#include <set>

#include <gtest/gtest.h>

#include "tests/chaos/schedule.hpp"

namespace flashsale::testing::chaos {
namespace {

TEST(ChaosSchedule, TheSameSeedGivesTheSameScheduleAndAnotherSeedAnother) {
  EXPECT_EQ(make_schedule(7).render(), make_schedule(7).render());
  EXPECT_NE(make_schedule(7).render(), make_schedule(8).render());
  // Pinned: a seed found in a report must replay the same faults after any refactoring.
  EXPECT_EQ(make_schedule(1).render().substr(0, 6), "seed 1");
}

TEST(ChaosSchedule, TheGeneratorIsPinnedSoPrintedSeedsStayValid) {
  seeded_random rng(1);
  EXPECT_EQ(rng.next(), 0x910a2dec89025cc1ULL); // splitmix64's published sequence for seed 1
  EXPECT_EQ(rng.next(), 0xbeeb8da1658eec67ULL);
}

TEST(ChaosSchedule, StepsFollowEachOtherAndCombinationsHitDifferentTargets) {
  for (std::uint64_t seed = 1; seed <= 500; ++seed) {
    auto s = make_schedule(seed);
    ASSERT_GE(s.steps.size(), 2u);
    ASSERT_LE(s.steps.size(), 3u);
    std::int64_t previous_end = 0;
    for (auto& st : s.steps) {
      EXPECT_GE(st.at_ms(), previous_end + 1000) << s.render();
      previous_end = st.end_ms();
      std::set<std::string> targets;
      int server_faults = 0;
      for (auto& f : st.faults) {
        EXPECT_GT(f.duration_ms, 0) << s.render();
        if (!f.target.empty()) {
          EXPECT_TRUE(targets.insert(f.target).second) << s.render();
        }
        server_faults += f.target.rfind("s", 0) == 0 ? 1 : 0;
        if (st.faults.size() > 1) {
          EXPECT_NE(f.kind, fault_kind::split) << s.render();
        }
      }
      EXPECT_LE(server_faults, 1) << "two servers down would take the quorum: " << s.render();
    }
    EXPECT_EQ(s.end_ms(), s.steps.back().end_ms());
  }
}

TEST(ChaosSchedule, PausesOutlastTheLeaseAndSplitsAreTwoAgainstOne) {
  for (std::uint64_t seed = 1; seed <= 500; ++seed)
    for (auto& st : make_schedule(seed).steps)
      for (auto& f : st.faults) {
        if (f.kind == fault_kind::pause_node) {
          EXPECT_GT(f.duration_ms, 1500) << f.render();
        }
        if (f.kind == fault_kind::split) {
          ASSERT_EQ(f.groups.size(), 2u);
          EXPECT_EQ(f.groups[0].size() + f.groups[1].size(), 6u) << f.render();
          int servers_in_first = 0;
          for (auto& h : f.groups[0])
            servers_in_first += h.rfind("s", 0) == 0 ? 1 : 0;
          EXPECT_EQ(servers_in_first, 2) << f.render();
        }
        if (f.kind == fault_kind::flap) {
          EXPECT_EQ(f.duration_ms, f.flaps * f.down_ms + (f.flaps - 1) * f.up_ms);
        }
      }
}

TEST(ChaosSchedule, OverManySeedsEveryKindOfFaultAndCombinationsAreDrawn) {
  std::set<std::string> kinds;
  for (std::uint64_t seed = 1; seed <= 100; ++seed)
    for (auto& st : make_schedule(seed).steps) {
      kinds.insert(st.kind());
      for (auto& f : st.faults)
        kinds.insert(to_string(f.kind));
    }
  EXPECT_EQ(kinds, (std::set<std::string>{"combination", "cut_node_nats", "flap", "isolate_server",
                                          "kill_node", "kill_server", "pause_node", "split"}));
}

} // namespace
} // namespace flashsale::testing::chaos
