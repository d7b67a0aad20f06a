// The load generator's latency histogram: its percentiles are within 1% of the exact values
// and merging equals recording everything in one, which the reports rely on.
#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "cli/load/latency_histogram.hpp"

TEST(LoadHistogram, PercentilesAreWithinOnePercentOfTheExactValues) {
  flashsale::load::latency_histogram h;
  std::vector<std::uint64_t> values;
  std::mt19937_64 rng(3);
  std::lognormal_distribution<double> dist(7.0, 1.5); // ~1 ms median, long tail
  for (int i = 0; i < 100000; ++i)
    values.push_back(static_cast<std::uint64_t>(dist(rng)));
  for (auto v : values)
    h.record(v);
  std::sort(values.begin(), values.end());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    auto exact = values[static_cast<size_t>(std::ceil(q * values.size())) - 1];
    auto got = h.percentile(q);
    EXPECT_GE(got, exact) << q;
    EXPECT_LE(got, exact + exact / 100 + 1) << q;
  }
  EXPECT_EQ(h.max(), values.back());
  EXPECT_EQ(h.percentile(1.0), values.back());
  EXPECT_EQ(h.count(), values.size());
}

TEST(LoadHistogram, MergingEqualsRecordingEverythingInOne) {
  flashsale::load::latency_histogram a, b, all;
  for (std::uint64_t v = 1; v < 5000000; v = v * 3 / 2 + 1) {
    (v % 2 ? a : b).record(v);
    all.record(v);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.max(), all.max());
  EXPECT_EQ(a.min(), all.min());
  for (double q : {0.1, 0.5, 0.99})
    EXPECT_EQ(a.percentile(q), all.percentile(q));
}
