// Order ids: unkeyed ones are "o-" + 32 hex digits, time first (index locality), then random
// bits drawn from the kernel's CSPRNG; keyed ones are derived, the same for the same user and
// key, different across users.
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "actors/ids.hpp"

using namespace flashsale;

TEST(OrderIds, RandomIdsAreWellFormedDistinctAndStartWithTheTime) {
  std::set<std::string> seen;
  std::string previous;
  for (int i = 0; i < 20000; ++i) { // several 4 KiB pools of randomness
    auto id = random_order_id();
    ASSERT_EQ(id.size(), 34u) << id;
    ASSERT_EQ(id.rfind("o-", 0), 0u);
    ASSERT_EQ(id.find_first_not_of("0123456789abcdef", 2), std::string::npos) << id;
    ASSERT_GE(id.substr(2, 12), previous.empty() ? "" : previous.substr(2, 12)) << "time first";
    ASSERT_TRUE(seen.insert(id).second) << "repeated " << id;
    previous = id;
  }
  // The random tails of two threads never repeat each other either.
  std::set<std::string> other;
  std::thread t([&] {
    for (int i = 0; i < 2000; ++i)
      other.insert(random_order_id().substr(14));
  });
  t.join();
  for (auto& id : seen)
    ASSERT_EQ(other.count(id.substr(14)), 0u);
}

TEST(OrderIds, KeyedIdsAreDerivedPerUserAndKey) {
  EXPECT_EQ(derive_order_id("u-1", "k"), derive_order_id("u-1", "k"));
  EXPECT_NE(derive_order_id("u-1", "k"), derive_order_id("u-2", "k"));
  EXPECT_NE(derive_order_id("ab", "c"), derive_order_id("a", "bc"));
}
